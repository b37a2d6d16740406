"The baseline step end to end (from the shared quick recipe run), its raw history read back from disk and from TensorBoard's own event reader, resnet34, and a user-like folder. (Bad DataLoaders are refused in nbs/03_task and nbs/11_baseline.)"
import json, math
from pathlib import Path
import numpy as np, pandas as pd, pytest
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.baseline import baseline_learner
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
    assert set(checks) == {'loss at init', 'calibration at init', 'gradients reach every parameter group',
                           'batch independence', 'input-independent baseline', 'one batch: loss falls'}
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

@pytest.mark.parametrize('shape,warns', [('one_cycle', True), ('flat_cos', True), ('constant', False),
                                         ('step_decay', True), ('exponential', False)])
def test_guard_by_schedule_shape(shape, warns, tmp_path):
    "EarlyStoppingGuard, one fit per schedule shape; the doctor reads the same shape off the recorded rates."
    import warnings
    from fastai.vision.all import EarlyStoppingCallback, ParamScheduler, combine_scheds, SchedNo, SchedExp
    from fastai.test_utils import synth_learner, synth_dbunch
    from nnrecipe.baseline import EarlyStoppingGuard, EarlyStoppingWarning, schedule_shape, SCHEDULE_SHAPES
    from nnrecipe.history import RawHistoryCallback
    from nnrecipe.doctor import diagnose
    steps = [SchedNo(1e-3, 1e-3), SchedNo(1e-4, 1e-4), SchedNo(1e-5, 1e-5)]
    sched = dict(step_decay=combine_scheds([0.5, 0.25, 0.25], steps),
                 exponential=SchedExp(1e-3, 1e-5))
    fit = dict(one_cycle=lambda l, cb: l.fit_one_cycle(2, 1e-3, cbs=cb),
               flat_cos=lambda l, cb: l.fit_flat_cos(2, 1e-3, cbs=cb),
               constant=lambda l, cb: l.fit(2, 1e-3, cbs=cb))
    learn = synth_learner(data=synth_dbunch(n_train=32, bs=4), path=tmp_path,
                          cbs=[EarlyStoppingGuard(), RawHistoryCallback(tmp_path, tensorboard=False)])
    es = EarlyStoppingCallback(patience=100)  # never stops: the guard judges the schedule, not the run
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        if shape in fit: fit[shape](learn, es)
        else: learn.fit(2, cbs=[es, ParamScheduler({'lr': sched[shape]})])
    msgs = [str(x.message) for x in w if issubclass(x.category, EarlyStoppingWarning)]
    assert len(msgs) == int(warns), msgs
    found = schedule_shape(learn.raw_history.history.steps.lr.values)
    assert SCHEDULE_SHAPES[found][0] != warns, found  # the recorded rates have a shape of the same verdict
    assert ('early_stopping_one_cycle' in diagnose(learn, check_batch=False)) == warns
