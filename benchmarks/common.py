"""What every benchmark script shares: where and how it writes its figures."""
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, results) -> Path:
    """Write ``results`` as ``benchmarks/results/<name>.json`` and say so."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")
    return path
