"Calibration (issue 17, item 2): the ECE of a known toy, temperature scaling kept only when it lowers the ECE, and `predict` applying the card's temperature and abstaining below --min-prob."
import numpy as np, pandas as pd
import pytest
from nnrecipe.calibrate import ece, nll, fit_temperature, calibrate, probs_from_logits, coverage_table
from nnrecipe.core import load_results

def _overconfident(n=2000, k=5, factor=3., seed=0):
    "Logits whose softmax is calibrated (each label drawn from it), multiplied by `factor`: over-confident."
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))*2
    y = np.array([rng.choice(k, p=q) for q in probs_from_logits(z)])
    return factor*z, y

def test_ece_of_a_known_toy():
    "Ten images called with 0.9, six right: ECE 0.3; two bins of five, each calibrated: 0."
    y = np.array([0]*6 + [1]*4)
    assert ece(np.tile([0.9, 0.1], (10, 1)), y) == pytest.approx(0.3)
    p = np.array([[0.6, 0.4]]*5 + [[0.2, 0.8]]*5)   # 3 of the first five right (0.6), 4 of the last five (0.8)
    assert ece(p, np.array([0, 0, 0, 1, 1] + [1, 1, 1, 1, 0])) == pytest.approx(0.)
    assert ece(p, np.array([0]*5 + [1]*5)) == pytest.approx(0.5*0.4 + 0.5*0.2)

def test_temperature_fixes_overconfidence():
    "Logits three times too large: the fitted T is about 3, kept, and lowers both ECE and NLL."
    z, y = _overconfident()
    assert fit_temperature(z, y) == pytest.approx(3, abs=0.2)
    cal = calibrate(z, y, list('abcde'))
    assert cal.applied and cal.temperature == cal.fitted
    assert cal.ece_after < cal.ece_before - 0.1 and cal.nll_after < cal.nll_before
    assert ece(probs_from_logits(z, cal.temperature), y) == pytest.approx(cal.ece_after)

def test_temperature_refused_when_it_raises_the_ece():
    "100 calibrated images and 5 confidently wrong ones: the NLL wants T > 1, which would raise the ECE: T = 1."
    a = np.log(0.9/0.1)
    z = np.vstack([np.tile([a, 0.], (100, 1)), np.tile([8., 0.], (5, 1))])
    y = np.array([0]*90 + [1]*10 + [1]*5)
    cal = calibrate(z, y, ['a', 'b'])
    assert cal.fitted > 1.5 and ece(probs_from_logits(z, cal.fitted), y) > ece(probs_from_logits(z), y)
    assert not cal.applied and cal.temperature == 1.0 and cal.ece_after == cal.ece_before
    assert cal.to_card()['temperature'] == 1.0 and 'T = 1' in cal.note

def test_coverage_counts():
    "Coverage at P is the share with top probability >= P, accuracy is on those."
    p = np.array([[.9, .1], [.55, .45], [.3, .7], [.8, .2]])
    t = coverage_table(p, np.array([0, 1, 1, 0]), (0., 0.6, 0.85))
    assert t.n.tolist() == [4, 3, 1] and t.accuracy.tolist() == pytest.approx([0.75, 1., 1.])

def test_predict_applies_temperature_and_abstains(recipe_run, recipe_data):
    "predict's probabilities are softmax(logits / card T); min_prob marks exactly the rows below it; T keeps the class."
    import torch
    from fastcore.basics import noop
    from nnrecipe.predict import predict, _model
    from nnrecipe.run import open_run
    card = load_results(recipe_run/'models'/'final_card.json')
    files = open_run(recipe_run, recipe_data, size=32).items.query('is_valid').fname.tolist()[:64]
    preds = predict(recipe_run, files, progress=False)
    assert preds.attrs['temperature'] == card['temperature']
    learn = _model(recipe_run)
    with learn.no_bar(): z = learn.get_preds(dl=learn.dls.test_dl(pd.DataFrame(dict(fname=files)), bs=64), act=noop)[0]
    want = probs_from_logits(z, card['temperature'])
    assert np.abs(preds[[f'p_{c}' for c in card['classes']]].values.astype(float) - want).max() < 1e-5
    hot = predict(recipe_run, files, progress=False, temperature=2*card['temperature'])
    assert (hot.pred == preds.pred).all() and (hot.prob < preds.prob).all()
    P = float(preds.prob.median())
    ab = predict(recipe_run, files, progress=False, min_prob=P)
    assert ab.abstained.tolist() == (ab.prob < P).tolist() and 0 < ab.abstained.sum() < len(ab)
    assert (ab.pred == preds.pred).all()   # abstained rows keep their class, flagged

def test_no_temperature_without_errors():
    "Every validation image right and confident: the NLL drives T to 0, which would promise certainty; T stays 1."
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    z = rng.normal(size=(300, 3)); z[np.arange(300), y] += 6
    cal = calibrate(z, y, ['a', 'b', 'c'])
    assert cal.fitted < 0.5 and cal.temperature == 1.0 and not cal.applied and 'every image right' in cal.note
