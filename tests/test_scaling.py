"Compound scaling: the multipliers, the scaled XResNet, FLOPs measured with torch.utils.flop_counter, and training on digits."
import math
import pandas as pd, pytest, torch
from fastai.vision.models.xresnet import XResNet, ResBlock
from nnrecipe.scaling import (compound_scale, compound_config, scaled_xresnet, measure_flops, scaling_table,
                              scaled_regularization, scaled_learner, Regularization)
from nnrecipe.data import digits, load_items, subset
from nnrecipe.history import RawHistoryCallback

def test_multipliers():
    for phi in range(5):
        d,w,r = compound_scale(phi)
        assert (d, w, r) == pytest.approx((1.2**phi, 1.1**phi, 1.15**phi))
        assert compound_scale(phi).flops == pytest.approx((1.2*1.1**2*1.15**2)**phi)
    assert 1.9 < compound_scale(1).flops < 2.0                 # alpha * beta^2 * gamma^2 = 1.92, "about 2"
    assert compound_scale(2, alpha=1.5, beta=1, gamma=1) == pytest.approx((2.25, 1, 1))
    with pytest.raises(ValueError, match='gamma=0.5 is below 1'): compound_scale(1, gamma=0.5)

def test_config_rounds_depth_up():
    for phi in range(5):
        cfg = compound_config(phi)
        assert cfg.layers == [math.ceil(round(l*1.2**phi, 9)) for l in (3, 4, 6, 3)]
        assert all(l >= b*1.2**phi - 1e-9 for l,b in zip(cfg.layers, (3, 4, 6, 3)))   # never shallower than asked
        assert cfg.size == round(224*1.15**phi) and cfg.widen == pytest.approx(1.1**phi)
    assert compound_config(1, base_layers=(5, 10)).layers == [6, 12]                 # no float overshoot to 7, 13

def test_flops_grow_about_2_to_the_phi():
    "Measured FLOPs of the scaled XResNet grow by 2^phi within 25% for phi = 1..3."
    t = scaling_table(range(4))
    for r in t[t.phi >= 1].itertuples():
        assert 0.75 <= r.flops_growth / 2**r.phi <= 1.25, (r.phi, r.flops_growth)
    assert t.params.is_monotonic_increasing
    # the count comes from the model, not from the formula: a different stem changes it
    with torch.device('meta'):
        a = compound_config(0).model(10); b = compound_config(0).model(10, stem_szs=(64, 64, 64))
    assert measure_flops(b, 224) > measure_flops(a, 224)

def test_meta_count_equals_cpu_count():
    torch.manual_seed(0)
    cfg = compound_config(1, base_layers=(1, 1, 1, 1), base_size=48)
    cpu = cfg.model(10)
    with torch.device('meta'): meta = cfg.model(10)
    assert measure_flops(meta, cfg.size) == measure_flops(cpu, cfg.size) > 0
    assert sum(p.numel() for p in meta.parameters()) == sum(p.numel() for p in cpu.parameters())

def test_regularization_grows_with_phi():
    regs = [scaled_regularization(p) for p in range(8)]
    assert regs[0] == Regularization(wd=0.01, p=0.2)
    assert all(a.wd < b.wd and a.p <= b.p for a,b in zip(regs, regs[1:]))
    assert regs[-1].p == 0.5 and regs[4].wd == pytest.approx(0.01*1.2**4)
    with torch.device('meta'):
        m,sz = scaled_xresnet(2, n_out=10, base_size=32)
    assert (m[-2].p, sz) == (0.3, 42)

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
