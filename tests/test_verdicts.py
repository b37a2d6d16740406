"""Too short to judge, end to end: a baseline trained a handful of steps on a digits variant with one class cut to 1:10,
read as step 2 reads it (recipe_nb/02's verdict cell) and as the doctor reads a runner's run folder; the doctor also
names the imbalance. The rules themselves are tested in nbs/23_verdicts.ipynb and nbs/24_doctor.ipynb."""
import json, math
import pandas as pd
from fastai.vision.all import set_seed
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.baseline import baseline_learner
from nnrecipe.history import load_history
from nnrecipe.doctor import diagnose
from nnrecipe.verdicts import MIN_STEPS

def test_a_handful_of_steps_is_too_short_to_judge(tmp_path):
    items = load_items(digits(size=16))
    tr = subset(items, 200, seed=0)
    cut = pd.concat([tr[tr.label != '9'], tr[tr.label == '9'].iloc[:2], items[items.is_valid].iloc[::4]])  # '9' at 1:10
    run = tmp_path/'run'
    set_seed(0, reproducible=True)
    learn = baseline_learner(dataloaders(cut, size=16, bs=32, seed=0), pretrained=False, run_dir=run/'02_baseline')
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    n_steps = len(cut[~cut.is_valid])//32
    # the step's own verdict, computed as recipe_nb/02_baseline computes it
    dx = diagnose(load_history(run/'02_baseline'))
    f = dx[dx.verdict]
    assert f.verdict == 'too_short' and 'cannot_overfit' not in dx and 'underfitting' not in dx
    assert (f.numbers['steps'], f.numbers['steps_needed'], f.numbers['epochs']) == (n_steps, MIN_STEPS, 1)
    assert f"too short to judge: {n_steps} optimiser steps (1 epoch(s) of {n_steps}) where a verdict needs at least " \
           f"{MIN_STEPS}" in f.message
    assert f"Train at least {MIN_STEPS} steps before judging ({math.ceil(MIN_STEPS/n_steps)} epochs" in f.todo
    # the doctor on the runner's run folder, and on the learner itself
    (run/'run.json').write_text(json.dumps(dict(params={}, steps=[dict(notebook='02_baseline.ipynb', status='done')])))
    d = diagnose(run)
    assert d.verdict == 'too_short' and d['too_short'].where == '02_baseline' and d['too_short'].numbers == f.numbers
    dl = diagnose(learn)
    assert dl.verdict == 'too_short'
    i = dl['imbalance']
    assert (i.numbers['smallest'], i.numbers['n_smallest']) == ('9', 2) and i.numbers['ratio'] >= 9
    assert 'balanced accuracy' in i.todo and 'FocalLossFlat' in i.todo
