"The overfit ladder: the recipe notebook's results, DataLoaders as the source, nothing left on the learner, its budget, bad input."
import json
import pandas as pd, pytest, torch
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.overfit import overfit_data, overfit_ladder, OverfitData
from nnrecipe.history import load_history

@pytest.fixture(scope='module')
def items(): return load_items(digits())

def test_recipe_notebook(recipe_run):
    "Quick mode on the digits: resnet18 memorises a subset of at least 64 images, and it says so with its numbers."
    res = json.loads((recipe_run/'03_overfit_a_subset.json').read_text())
    assert res['overfit'] and not res['blames_data']
    best = res['best']
    assert best['n'] >= 64 and best['arch'] == 'resnet18' and best['train_acc'] == 1 and best['train_loss'] < 0.05
    assert res['verdict'].startswith(f"memorises {best['n']} images with resnet18 in {best['model_epochs']} epochs")
    assert res['valid']['accuracy'] > res['valid']['chance'] + res['valid']['margin']   # real labels: it learns too
    assert {'n', 'arch', 'epochs', 'train_loss', 'train_acc', 'overfit', 'seconds'} <= set(res['rungs'][0])
    assert (recipe_run/'03_overfit.png').stat().st_size > 10_000
    assert len(load_history(best['run_dir']).steps) == best['steps']

def test_dataloaders_source_leaves_nothing_behind(items, tmp_path):
    "DataLoaders from nnrecipe.data work as the source; the rung's model ends with fastai's default callbacks and no hooks."
    dls = dataloaders(pd.concat([subset(items, 96), items[items.is_valid].iloc[::8]]), size=32, bs=32)
    res = overfit_ladder(dls, sizes=[32], epochs=12, larger=[], run_dir=tmp_path/'run')
    assert res.overfit and res.best['n'] == 32, res.table
    assert res.params['size'] == 32 and res.valid['n'] == 45
    learn = res.learn
    assert [type(cb).__name__ for cb in learn.cbs] == ['TrainEvalCallback', 'Recorder', 'CastToTensor', 'ProgressCallback']
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in learn.model.modules()) == 0
    assert (tmp_path/'run'/'rung00'/'steps.csv').exists()
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in learn.model.modules()) and learn.wd == 0

def test_budget_stops_the_ladder(items, tmp_path):
    "The overall cap stops it, and the verdict says so rather than blaming the data."
    data = overfit_data(items, n=64, size=16, n_valid=32)
    res = overfit_ladder(data, sizes=[64, 32], epochs=2, max_steps=3, run_dir=tmp_path/'run')
    assert res.params['steps'] <= 4 and not res.overfit and not res.blames_data
    assert res.verdict.startswith('stopped by the budget (max_steps=3')
    assert json.dumps(res.to_dict())

def test_bad_input(items, tmp_path):
    data = overfit_data(items, n=32, size=16, n_valid=16)
    assert isinstance(data, OverfitData) and data.x.shape == (32, 3, 16, 16)
    with pytest.raises(ValueError, match='out of range'): overfit_ladder(data, sizes=[64], run_dir=tmp_path)
    with pytest.raises(ValueError, match='Unknown architecture'): overfit_ladder(data, arch='resnet_nope', sizes=[32], run_dir=tmp_path)
    with pytest.raises(ValueError, match='no validation split'): overfit_data(items.assign(is_valid=False))
