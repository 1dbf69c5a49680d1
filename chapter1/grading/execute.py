"""Execute notebooks in place, as they are committed: outputs and widget state kept, no timestamps.

    python -m chapter1.grading.execute notebooks/*.ipynb solutions/*.ipynb

Each notebook runs in a fresh kernel from its own folder; a cell that raises stops that notebook
with the error named (nothing is written for it).
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path, timeout=600):
    """Run notebook ``path`` top to bottom in a fresh kernel and write it back with its outputs."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timestamps would change every run
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chapter1.grading.execute", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (default 600)")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        print(f"== {path}", flush=True)
        try:
            execute(path, args.timeout)
        except CellExecutionError as error:
            failed.append(path)
            print(f"{path}: a cell raised an error; the notebook was not written\n{error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
