"""Portable export (issue 17, item 3): the run's ONNX model and its preprocessing JSON give `predict`'s probabilities
with onnxruntime, PIL and numpy alone. Everything here reads the shared run's final model (no training, no export of
its own: the CI budget); real images with transparency and EXIF, and a temperature other than 1, are checked by
nbs/20_export.ipynb, which `make test` executes."""
import ast, json, re
from pathlib import Path
import numpy as np, pytest
from nnrecipe.core import load_results

REAL = Path(__file__).parent/'data'/'real'/'folder'   # RGBA, LA, palette, CMYK, 16-bit, EXIF-turned files
README = Path(__file__).parent.parent/'README.md'

@pytest.fixture(scope='module')
def final(recipe_run):
    "The shared run's card, its export entry, the run (its items) and the onnx path."
    from nnrecipe.run import open_run
    card = load_results(recipe_run/'models'/'final_card.json')
    run = open_run(recipe_run, card['items']['source'])
    return card, card['export'], run, recipe_run/card['export']['onnx']

def test_recipe_run_exports_onnx_with_parity(final):
    "ONNX and JSON beside the fastai export, the card's parity, and parity recomputed against `predict`."
    from nnrecipe.export import onnx_predict, parity_items
    from nnrecipe.predict import predict
    card, ex, run, onnx_path = final
    pre_path = run.out/ex['preprocessing']
    assert onnx_path.parent == run.out/'models' and onnx_path.exists() and pre_path.exists()
    assert ex['n_parity'] == 64 and ex['parity_max_abs_diff'] <= 1e-4, ex
    pre = json.loads(pre_path.read_text())
    assert pre['classes'] == card['classes'] and pre['temperature'] == card.get('temperature', 1.0)
    assert pre['resize']['size'] == [32, 32] and pre['decode']['background'] == [255, 255, 255]
    assert run.item_fingerprint == card['items']['fingerprint']
    fnames = parity_items(run.items)
    ref = predict(run.out, fnames, progress=False)
    assert ref.error.isna().all()
    got = onnx_predict(onnx_path, fnames)
    diff = np.abs(ref[[f'p_{c}' for c in pre['classes']]].to_numpy(np.float32) - got).max()
    assert diff <= 1e-4, diff
    assert (np.array(pre['classes'])[got.argmax(1)] == ref.pred.to_numpy()).all()

@pytest.fixture(scope='module')
def learn(final):
    from nnrecipe.core import load_model
    return load_model(final[2].out, 'final')

def test_parity_failure_is_recorded_and_said(final, learn, monkeypatch, capsys):
    "An export whose probabilities drift by 1e-3: the card records it, a warning says it, the training is kept."
    import nnrecipe.export as export
    from nnrecipe.run import _portable
    card, ex, run, onnx_path = final
    done = (onnx_path, run.out/ex['preprocessing'])
    monkeypatch.setattr(export, 'export_onnx', lambda *a, **k: done)            # the same files, nothing rewritten
    real = export.onnx_predict
    monkeypatch.setattr(export, 'onnx_predict', lambda *a, **k: real(*a, **k) + 1e-3)
    bad = _portable(run, learn, card, 'final')['export']
    assert bad['parity_max_abs_diff'] == pytest.approx(1e-3, abs=2e-4) and bad['n_parity'] == 64
    assert 'WARNING: the ONNX export of final does not match the model' in capsys.readouterr().out

def test_export_failure_keeps_the_card(final, learn, monkeypatch, capsys):
    "A model the exporter refuses: the card says why, a warning says it, nothing is raised."
    import nnrecipe.export as export
    from nnrecipe.run import _portable
    card, ex, run, onnx_path = final
    def refuse(*a, **k): raise ValueError("The validation pipeline holds X, which the plain path cannot redo")
    monkeypatch.setattr(export, 'export_onnx', refuse)
    assert _portable(run, learn, card, 'final') == {'export': {'error': 'ValueError: The validation pipeline holds X, '
                                                                        'which the plain path cannot redo'}}
    assert 'WARNING: no ONNX export of final (ValueError' in capsys.readouterr().out

def _readme_probs(onnx_path, fnames):
    "The README's plain inference code, run as written on `fnames`: its probabilities."
    sec = README.read_text().split('## Use the model without nnrecipe', 1)[1]
    code = re.search(r'```python\n(.*?)```', sec, re.S).group(1)
    tree = ast.parse(code)
    mods = {a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert mods == {'json', 'numpy', 'onnxruntime', 'PIL'}, mods   # nothing of torch, fastai or nnrecipe
    code = re.sub(r"^MODEL = .*$", f"MODEL = {str(onnx_path)!r}", code, flags=re.M)
    code = re.sub(r"^IMAGES = .*$", f"IMAGES = {fnames!r}", code, flags=re.M)
    ns = {}
    exec(compile(code, 'README.md', 'exec'), ns)
    return ns['probs']

def test_readme_snippet_is_onnx_predict(final):
    "The README's plain inference code, run as written, gives `onnx_predict`'s probabilities, real files included."
    from nnrecipe.export import onnx_predict
    card, ex, run, onnx_path = final
    # digits, and real files: transparency, EXIF, 16-bit, CMYK, and files large enough for the reduced decoding
    fnames = list(run.items.fname[:8]) + sorted(str(f) for f in REAL.rglob('*') if f.is_file())
    np.testing.assert_array_equal(_readme_probs(onnx_path, fnames), onnx_predict(onnx_path, fnames))

def test_presized_run_exports_with_parity(tmp_path, capsys):
    "A run on real photos and logos (median side 96 px) at 32 px presizes by default; its model exports, with parity."
    import shutil, torch
    from torch import nn
    from nnrecipe.data import dataloaders
    from nnrecipe.export import onnx_predict
    from nnrecipe.learner import recipe_learner
    from nnrecipe.run import _portable, open_run
    for c in ('photos', 'logos'): shutil.copytree(REAL/c, tmp_path/'large'/c)
    run = open_run(tmp_path/'run', tmp_path/'large', seed=0, size=32)
    dls = dataloaders(run.items, size=32, bs=8)
    assert dls.presized == 64                            # on by default: min(2 x 32, the median side)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    learn = recipe_learner(dls, net, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    ex = _portable(run, learn, {'temperature': 1.3}, 'final')['export']
    assert 'error' not in ex and ex['parity_max_abs_diff'] <= 1e-4 and ex['n_parity'] == int(run.items.is_valid.sum()), ex
    assert 'WARNING' not in capsys.readouterr().out
    pre = json.loads((run.out/ex['preprocessing']).read_text())
    assert pre['presize']['side'] == 64 and pre['decode']['reduce_max_side'] == 64 and pre['resize']['size'] == [32, 32]
    fnames = list(run.items.fname)                       # training images too: not cropped once predicted
    onnx_path = run.out/ex['onnx']
    np.testing.assert_array_equal(_readme_probs(onnx_path, fnames), onnx_predict(onnx_path, fnames))
