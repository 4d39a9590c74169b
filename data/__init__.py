"""The shipped expert files, installed as the package ``gail_cli.shipped_data``.

This folder is mapped to that package in pyproject.toml, so an editable install reads
the files here and a wheel carries them (``experts/<env>.hdf5`` and ``.pt``).
"""
