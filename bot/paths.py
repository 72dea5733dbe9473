"""Where the project's data files live (one place, so tests and tools agree)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOWS_DIR = ROOT / "flows"
LOCALES_DIR = ROOT / "locales"
DIRECTORY_PATH = ROOT / "directory.json"
