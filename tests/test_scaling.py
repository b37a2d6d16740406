"Compound scaling end to end: a scaled XResNet built by `scaled_learner` trains on digits (the units are tested in nbs/13_scaling)."
import pandas as pd, pytest, torch
from nnrecipe.scaling import scaled_learner
from nnrecipe.data import digits, load_items, subset
from nnrecipe.history import RawHistoryCallback

def test_scaled_model_trains_one_batch_on_digits(tmp_path):
    items = load_items(digits())
    few = pd.concat([subset(items, 32), items[items.is_valid].head(32)])
    cb = RawHistoryCallback(tmp_path, tensorboard=False)
    learn = scaled_learner(few, phi=1, base_layers=(1, 1, 1, 1), bs=32, cbs=cb)
    assert learn.scaling == dict(phi=1, layers=[2, 2, 2, 2], widen=pytest.approx(1.1), size=37,
                                 wd=pytest.approx(0.012), p=0.25)
    xb,yb = learn.dls.one_batch()
    assert xb.shape == (32, 3, 37, 37) and len(learn.dls.train) == 1
    w0 = learn.model[0][0].weight.detach().clone()
    with learn.no_bar(), learn.no_logging(): learn.fit(3, 1e-3)
    losses = cb.history.steps.loss
    assert len(losses) == 3 and losses.notna().all()
    assert losses.iloc[-1] < losses.iloc[0], losses.tolist()
    assert not torch.equal(w0, learn.model[0][0].weight)
    assert 0 <= learn.recorder.values[-1][-1] <= 1                   # accuracy on the 32 validation digits
