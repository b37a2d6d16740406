"Every recipe notebook runs headless, in quick mode, on the embedded data, and leaves its outputs in the run folder."
import json
from pathlib import Path
import nbformat
from nnrecipe.runner import recipe_notebooks

def test_every_step_ran(recipe_run):
    run = json.loads((recipe_run/'run.json').read_text())
    assert [s['notebook'] for s in run['steps']] == [p.name for p in recipe_notebooks()]
    assert {s['status'] for s in run['steps']} == {'done'}
    for p in recipe_notebooks():
        nb = nbformat.read(recipe_run/p.name, as_version=4)
        errors = [o for c in nb.cells if c.cell_type=='code' for o in c.get('outputs', []) if o.get('output_type')=='error']
        assert not errors, f"{p.name}: {errors[0]['ename']}: {errors[0]['evalue']}"

def test_every_step_has_a_parameters_cell():
    for p in recipe_notebooks():
        nb = nbformat.read(p, as_version=4)
        tagged = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
        assert len(tagged) == 1, f"{p.name} needs exactly one cell tagged 'parameters' (has {len(tagged)})"
        src = tagged[0].source
        for name in ('data', 'out_dir', 'quick'): assert f'{name} =' in src, f"{p.name}: parameter {name!r} missing"

def test_start_here(recipe_run):
    res = json.loads((recipe_run/'00_start_here.json').read_text())
    assert (res['n_items'], res['n_classes'], res['n_valid'], res['n_test']) == (1797 - 179, 10, 359, 179)  # test split aside
    assert res['batch_shape'] == [64, 3, 32, 32]
    assert sum(c['train'] + c['valid'] for c in res['counts'].values()) == 1797 - 179
    assert (recipe_run/'00_batch.png').stat().st_size > 10_000
