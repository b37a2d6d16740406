"Resume inside step 4: a ladder killed by SIGKILL after its first run, called again, says where it resumed and ends with an uninterrupted run's table (the final training's resume is shown in nbs/15_ladder)."
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from nnrecipe.ladder import regularize_ladder

TINY = dict(epochs=1, frac=0.25, bs=16, size=16)  # 36 training images at 16 px: about a second a run
RUNGS = ('weight_decay', 'label_smoothing')       # with the baseline and its seed-noise run: a four-run ladder


SCRIPT = textwrap.dedent(f"""
    import sys, torch; torch.set_num_threads(1)
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from test_ladder_resume import TINY, RUNGS
    from conftest import digits_tenth
    from nnrecipe.ladder import regularize_ladder
    regularize_ladder(digits_tenth(), TINY, rungs=RUNGS, checkpoint_dir=sys.argv[1])
""")

def _kill_after_first_run(ck):
    "Run the ladder in a subprocess; SIGKILL it once the first run's line is in the checkpoint file."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.getcwd()}
    p = subprocess.Popen([sys.executable, '-c', SCRIPT, str(ck)], env=env, stdout=subprocess.DEVNULL)
    f,t = ck/'ladder.jsonl',time.time()
    while not (f.exists() and f.read_text().count('\n') >= 1):
        assert p.poll() is None and time.time() - t < 120, 'the ladder process ended or stalled before its first run'
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    return p.returncode, f.read_text().count('\n')

def test_sigkilled_ladder_resumes(tmp_path, tenth, one_thread, capsys):
    rc,done = _kill_after_first_run(tmp_path/'ck')
    assert rc == -signal.SIGKILL and 1 <= done < 4
    items = tenth
    resumed = regularize_ladder(items, TINY, rungs=RUNGS, checkpoint_dir=tmp_path/'ck')
    out = capsys.readouterr().out
    nxt = ['baseline', 'seed_noise', *RUNGS][done]  # the first run the killed process had not finished
    assert f"resumed at rung {nxt}" in out and f"{done} finished run(s) restored" in out, out
    whole = regularize_ladder(items, TINY, rungs=RUNGS, progress=False)
    cols = [c for c in whole.table if c not in ('seconds', 'cpu_seconds')]
    pd.testing.assert_frame_equal(resumed.table[cols], whole.table[cols])
    assert resumed.config == whole.config and resumed.verdicts[:-1] == whole.verdicts
