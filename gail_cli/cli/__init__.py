"""The console scripts: Hydra apps, error handling, report, export, video, sweeps."""
