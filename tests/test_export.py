"Portable export (issue 17, item 3): the ONNX model and its preprocessing JSON give `predict`'s probabilities with onnxruntime, PIL and numpy alone."
import ast, json, re, types
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from torch import nn
from PIL import Image
from nnrecipe.core import load_results

REAL = Path(__file__).parent/'data'/'real'/'folder'   # RGBA, LA, palette, CMYK, 16-bit, EXIF-turned files
README = Path(__file__).parent.parent/'README.md'

def test_recipe_run_exports_onnx_with_parity(recipe_run):
    "The shared run's final model: ONNX and JSON beside it, the card's parity, and parity recomputed against `predict`."
    from nnrecipe.export import onnx_predict, parity_items
    from nnrecipe.predict import predict
    from nnrecipe.run import open_run
    card = load_results(recipe_run/'models'/'final_card.json')
    ex = card['export']
    onnx_path, pre_path = recipe_run/ex['onnx'], recipe_run/ex['preprocessing']
    assert onnx_path.parent == recipe_run/'models' and onnx_path.exists() and pre_path.exists()
    assert ex['n_parity'] == 64 and ex['parity_max_abs_diff'] <= 1e-4, ex
    pre = json.loads(pre_path.read_text())
    assert pre['classes'] == card['classes'] and pre['temperature'] == card.get('temperature', 1.0)
    assert pre['resize']['size'] == [32, 32] and pre['decode']['background'] == [255, 255, 255]
    run = open_run(recipe_run, card['items']['source'])
    assert run.item_fingerprint == card['items']['fingerprint']
    fnames = parity_items(run.items)
    ref = predict(recipe_run, fnames, progress=False)
    assert ref.error.isna().all()
    got = onnx_predict(onnx_path, fnames)
    diff = np.abs(ref[[f'p_{c}' for c in pre['classes']]].to_numpy(np.float32) - got).max()
    assert diff <= 1e-4, diff
    assert (np.array(pre['classes'])[got.argmax(1)] == ref.pred.to_numpy()).all()

def _tiny_cnn(c:int)->nn.Module:
    conv = lambda i,o: [nn.Conv2d(i, o, 3, stride=2, padding=1), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*conv(3, 16), *conv(16, 32), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, c))

@pytest.fixture(scope='module')
def real_export(tmp_path_factory, one_thread):
    "A small network trained for a few steps at 32 px on the real files (on a green background), exported at T=1.7."
    from nnrecipe.data import load_items, dataloaders
    from nnrecipe.learner import recipe_learner
    from nnrecipe.run import _portable
    items = load_items(REAL, valid_pct=0.3)
    dls = dataloaders(items, size=32, bs=8, bg=(10, 200, 30))
    learn = recipe_learner(dls, _tiny_cnn(len(dls.vocab)), pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-2)
    run = types.SimpleNamespace(out=tmp_path_factory.mktemp('real_export'), items=items)  # what `_portable` reads
    ex = _portable(run, learn, {'temperature': 1.7}, 'final')['export']
    return learn, items, run, ex

def _has_alpha_or_exif(f)->tuple:
    with Image.open(f) as im: return ('transparency' in im.info or 'A' in im.mode), im.getexif().get(0x0112, 1) != 1

def test_real_images_parity_with_temperature(real_export):
    "On every real file, transparency and EXIF included: onnxruntime matches softmax(logits / 1.7) within 1e-4."
    from nnrecipe.export import onnx_parity, onnx_predict
    learn, items, run, ex = real_export
    assert ex['parity_max_abs_diff'] <= 1e-4 and ex['n_parity'] == int(items.is_valid.sum()) and ex['temperature'] == 1.7
    pre = json.loads((run.out/ex['preprocessing']).read_text())
    assert (pre['temperature'], pre['decode']['background']) == (1.7, [10, 200, 30])
    fnames = list(items.fname)
    flags = np.array([_has_alpha_or_exif(f) for f in fnames])
    assert flags[:, 0].sum() >= 10 and flags[:, 1].sum() >= 2   # transparent files and EXIF-turned photos among them
    p = onnx_parity(learn, run.out/ex['onnx'], fnames, temperature=1.7)
    assert p['max_abs_diff'] <= 1e-4, p['max_abs_diff']
    with learn.no_bar():
        logits = learn.get_preds(dl=learn.dls.test_dl(pd.DataFrame(dict(fname=fnames)), bs=64), act=lambda z: z)[0]
    got = onnx_predict(run.out/ex['onnx'], fnames)
    assert np.abs(got - torch.softmax(logits/1.7, 1).numpy()).max() <= 1e-4       # the temperature is inside
    assert np.abs(got - torch.softmax(logits, 1).numpy()).max() > 1e-3             # and it is not T=1

def test_parity_failure_is_recorded_and_said(real_export, monkeypatch, capsys):
    "An export whose probabilities drift by 1e-3: the card records it, a warning says it, the training is kept."
    import nnrecipe.export as export
    from nnrecipe.run import _portable
    learn, items, run, ex = real_export
    done = (run.out/ex['onnx'], run.out/ex['preprocessing'])
    monkeypatch.setattr(export, 'export_onnx', lambda *a, **k: done)            # the same files, not exported again
    real = export.onnx_predict
    monkeypatch.setattr(export, 'onnx_predict', lambda *a, **k: real(*a, **k) + 1e-3)
    bad = _portable(run, learn, {'temperature': 1.7}, 'final')['export']
    assert bad['parity_max_abs_diff'] == pytest.approx(1e-3, abs=2e-4)
    assert 'WARNING: the ONNX export of final does not match the model' in capsys.readouterr().out

def test_export_failure_keeps_the_card(real_export, monkeypatch, capsys):
    "A model the exporter refuses: the card says why, a warning says it, nothing is raised."
    import nnrecipe.export as export
    from nnrecipe.run import _portable
    learn, items, run, ex = real_export
    def refuse(*a, **k): raise ValueError("The validation pipeline holds X, which the plain path cannot redo")
    monkeypatch.setattr(export, 'export_onnx', refuse)
    assert _portable(run, learn, {}, 'final') == {'export': {'error': 'ValueError: The validation pipeline holds X, '
                                                                      'which the plain path cannot redo'}}
    assert 'WARNING: no ONNX export of final (ValueError' in capsys.readouterr().out

def test_readme_snippet_is_onnx_predict(real_export):
    "The README's plain inference code, run as written, gives `onnx_predict`'s probabilities."
    from nnrecipe.export import onnx_predict
    learn, items, run, ex = real_export
    sec = README.read_text().split('## Use the model without nnrecipe', 1)[1]
    code = re.search(r'```python\n(.*?)```', sec, re.S).group(1)
    fnames = list(items.fname[::3])
    code = re.sub(r"^MODEL = .*$", f"MODEL = {str(run.out/ex['onnx'])!r}", code, flags=re.M)
    code = re.sub(r"^IMAGES = .*$", f"IMAGES = {fnames!r}", code, flags=re.M)
    tree = ast.parse(code)
    mods = {a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert mods == {'json', 'numpy', 'onnxruntime', 'PIL'}, mods   # nothing of torch, fastai or nnrecipe
    ns = {}
    exec(compile(code, 'README.md', 'exec'), ns)
    np.testing.assert_array_equal(ns['probs'], onnx_predict(run.out/ex['onnx'], fnames))
