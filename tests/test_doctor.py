"""The recipe doctor on a real run (the shared quick run of every recipe notebook) and on bad input.
Its verdicts on the four set-ups of issue 9 (learning rate 100x too high, all-blank images, EarlyStoppingCallback
with fit_one_cycle, a healthy run) are tested in nbs/23_verdicts.ipynb and nbs/24_doctor.ipynb, which trains them."""
import json, math
import pytest
from nnrecipe.doctor import diagnose
from nnrecipe.verdicts import Diagnosis, TRAINING_VERDICTS, MIN_STEPS
from nnrecipe.history import load_history

def test_doctor_reads_the_recipe_run(recipe_run):
    d = diagnose(recipe_run)
    assert isinstance(d, Diagnosis) and len(d)
    base = [f for f in d.findings if f.where.startswith('02_baseline') and f.verdict in TRAINING_VERDICTS]  # its verdict
    assert base and base[0].verdict in TRAINING_VERDICTS
    h = load_history(recipe_run/'02_baseline')
    step = json.loads((recipe_run/'02_baseline.json').read_text())['verdict']
    assert step.startswith(base[0].verdict + ': ')  # the step's own verdict and the doctor's agree
    if len(h.steps) < MIN_STEPS and base[0].verdict != 'diverging':  # quick mode trains a few steps
        assert base[0].verdict == 'too_short' or base[0].numbers['final_train_loss'] < 0.1*math.log(10)
    assert base[0].numbers['steps'] == len(h.steps)
    assert math.isclose(base[0].numbers['reference_loss'], math.log(10), rel_tol=1e-3)
    for f in d.findings: assert f.message and f.rule and f.todo, f

def test_unreviewed_leakage_from_the_real_results(recipe_run):
    res = json.loads((recipe_run/'01_look_at_the_data.json').read_text())
    res['issues'] = dict(res.get('issues') or {}, leakage=3, duplicate=1); res['n_decisions'] = 0
    d = diagnose(None, results=res)
    f = d['data_issues']
    assert f.severity == 'error' and f.message.startswith('unreviewed data issues: leakage 3') and 'leakage first' in f.todo
    res['n_decisions'] = 2
    assert 'data_issues' not in diagnose(None, results=res)

def test_imbalance_reported_whether_reviewed_or_not(recipe_run):
    res = json.loads((recipe_run/'01_look_at_the_data.json').read_text())
    assert 'imbalance' not in diagnose(None, results=res)  # the digits are balanced
    res['class_counts'] = {str(c): 14 if c == 9 else 140 for c in range(10)}
    for n_dec in (0, 3):
        res['n_decisions'] = n_dec
        f = diagnose(None, results=res)['imbalance']
        assert (f.numbers['n_largest'], f.numbers['n_smallest'], f.numbers['ratio']) == (140, 14, 10.0)
        assert "largest '0' 140 training images, smallest '9' 14 (10.0x" in f.message
        assert 'balanced accuracy' in f.todo

def test_bad_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'): diagnose(tmp_path/'nope')
    with pytest.raises(FileNotFoundError, match='No history in'): diagnose(tmp_path)
    with pytest.raises(FileNotFoundError, match='No results at'): diagnose(None, results=tmp_path/'x.json')
    from fastai.test_utils import synth_learner
    with pytest.raises(ValueError, match='not been trained yet'): diagnose(synth_learner())

