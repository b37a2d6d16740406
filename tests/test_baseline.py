"The baseline step end to end (from the shared quick recipe run), its raw history read back from disk and from TensorBoard's own event reader, and the bad input it refuses."
import json, math
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.baseline import baseline_learner
from nnrecipe.task import check_dls
from nnrecipe.history import load_history

@pytest.fixture(scope='module')
def baseline(recipe_run):
    return json.loads((recipe_run/'02_baseline.json').read_text())

@pytest.fixture(scope='module')
def small():
    items = load_items(digits())
    return pd.concat([subset(items, 60), items[items.is_valid].iloc[::10]])

def test_recipe_step(recipe_run, baseline):
    r = baseline
    assert (r['task'], r['n_classes'], r['metrics'], r['augmentations']) == ('single_label', 10, ['accuracy', 'error_rate'], [])
    checks = {c['check']: c for c in r['sanity']}
    assert set(checks) == {'loss at init', 'input-independent baseline', 'gradients reach every parameter group',
                           'one batch: loss falls'}
    assert r['sanity_passed'] and all(c['passed'] for c in checks.values())
    assert abs(checks['loss at init']['measured'] - math.log(10)) < 0.1*math.log(10)
    assert r['lr'] == r['lr_find'][r['suggestion']] and 1e-6 < r['lr'] < 1
    assert r['precision']['mode'] in ('fp32', 'fp16') and r['precision']['note']
    for p in r['plots']: assert (recipe_run/p).stat().st_size > 10_000, p

def test_history_on_disk(baseline):
    r = baseline
    h = load_history(r['history_dir'])
    assert len(h.steps) == r['epochs']*r['steps_per_epoch'] == r['epochs']*(r['n_train']//r['bs'])
    assert h.steps.step.tolist() == list(range(len(h.steps)))
    assert h.steps.loss.notna().all() and (h.steps.grad_norm > 0).all() and (h.steps.lr > 0).all()
    assert len(h.epochs) == r['epochs'] and h.fits.n_epoch.tolist() == [r['epochs']]
    assert np.isclose(h.epochs.valid_loss.iloc[-1], r['final']['valid_loss'])
    assert h.fits.early_stopping.tolist() == [False]
    # a one-cycle schedule: the rates the steps were trained at rise, then fall far below the peak
    assert h.steps.lr.idxmax() > 0 and h.steps.lr.iloc[-1] < h.steps.lr.max()/10

def test_tensorboard_holds_raw_values(baseline):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    h = load_history(baseline['history_dir'])
    ea = EventAccumulator(str(baseline['history_dir']), size_guidance={'scalars': 0}); ea.Reload()
    ev = ea.Scalars('loss/train')
    assert [e.step for e in ev] == h.steps.step.tolist()
    assert np.allclose([e.value for e in ev], h.steps.loss.values.astype(np.float32), rtol=1e-6, atol=0)
    assert np.allclose([e.value for e in ea.Scalars('opt/lr')], h.steps.lr.values.astype(np.float32), rtol=1e-6)
    assert np.allclose([e.value for e in ea.Scalars('loss/valid')], h.epochs.valid_loss.values, rtol=1e-6)

def test_single_class(small, tmp_path):
    with pytest.raises(ValueError, match=r"Only one class \('4'\).*at least two"):
        baseline_learner(dataloaders(small.assign(label='4'), size=32), pretrained=False, run_dir=tmp_path)

def test_empty_validation_set(small, tmp_path):
    from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, ColReader, FuncSplitter, Resize
    db = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader('fname'), get_y=ColReader('label'),
                   splitter=FuncSplitter(lambda o: False), item_tfms=Resize(32))
    with pytest.raises(ValueError, match='validation set is empty.*valid_pct'):
        baseline_learner(db.dataloaders(small, bs=16, num_workers=0), pretrained=False, run_dir=tmp_path)

def test_unseen_validation_labels(small, tmp_path):
    it = small.copy(); it.loc[it.is_valid & (it.label=='5'), 'label'] = 'five'
    # nnrecipe's own loader refuses them before any training ...
    with pytest.raises(ValueError, match=r"labels never seen in training: 'five' \(e\.g\. /.*\.png\).*training split"):
        dataloaders(it, size=32)
    # ... and baseline_learner's checks catch them in DataLoaders built any other way
    from fastai.vision.all import DataBlock, ImageBlock, CategoryBlock, ColReader, ColSplitter, Resize
    db = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=ColReader('fname'), get_y=ColReader('label'),
                   splitter=ColSplitter('is_valid'), item_tfms=Resize(32))
    with pytest.raises(ValueError, match=r"labels never seen in training: 'five' \(/.*\.png\).*training split"):
        baseline_learner(db.dataloaders(it, bs=16, num_workers=0), pretrained=False, run_dir=tmp_path)

def test_mixed_sizes_without_resize(small, tmp_path):
    for i,f in enumerate(small.fname.iloc[:8]):
        d = tmp_path/'imgs'/str(i%2); d.mkdir(parents=True, exist_ok=True)
        Image.open(f).resize((32+16*(i%3==0),)*2).save(d/f'{i}.png')
    items = load_items(tmp_path/'imgs', valid_pct=0.25)
    with pytest.raises(ValueError, match=r'Images differ in size \(.*\d+x\d+.*\).*Resize\(224\)'):
        baseline_learner(dataloaders(items, item_tfms=[], bs=2), pretrained=False, run_dir=tmp_path/'run')
    check_dls(dataloaders(items, size=32, bs=2))  # resized, the same images are fine

def test_unknown_arch(small, tmp_path):
    with pytest.raises(ValueError, match="Unknown architecture 'resnet_nope'.*'resnet18'"):
        baseline_learner(dataloaders(small, size=32), arch='resnet_nope', pretrained=False, run_dir=tmp_path)

def test_resnet34_is_one_argument_away(small, tmp_path):
    learn = baseline_learner(dataloaders(small, size=32), arch='resnet34', pretrained=False, run_dir=tmp_path)
    assert sum(p.numel() for p in learn.model.parameters()) > 20e6
    assert learn.opt_func.__name__ == 'Adam' and Path(learn.path) == tmp_path

def test_shapes_as_a_user_folder(tmp_path):
    from nnrecipe.data import shapes
    items = load_items(shapes(tmp_path/'shapes', n=40, size=64))  # class folders plus a boxes.csv, like a user's folder
    learn = baseline_learner(dataloaders(items, size=64, bs=8), pretrained=False, run_dir=tmp_path/'run')
    assert (learn.task_info.task, learn.task_info.n_classes) == ('single_label', 4)
    xb,_ = learn.dls.one_batch()
    assert learn.model.eval()(xb).shape == (8, 4)
    assert not any(p.name == 'models' for p in (tmp_path/'shapes').iterdir())  # nothing written into the data folder
