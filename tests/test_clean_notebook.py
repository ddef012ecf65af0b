import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.clean_notebook import clean


def test_stderr_streams_go_and_everything_else_stays(tmp_path):
    cell = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n"),
                                               new_output("stream", name="stderr", text="FutureWarning: ...\n"),
                                               new_output("display_data", data={"text/plain": "x"})])
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    assert clean(str(path)) == 1
    outputs = nbformat.read(path, 4).cells[0].outputs
    assert [o.get("name", o.output_type) for o in outputs] == ["stdout", "display_data"]
