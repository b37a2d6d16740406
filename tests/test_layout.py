"The package's layout: notebooks numbered once each, in dependency order; no module named like the standard library."
import ast, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, PKG = ROOT/'nbs', ROOT/'nnrecipe'

def _notebook_of(module:Path)->str:
    "The notebook a generated module comes from, from nbdev's header line."
    m = re.search(r'File to edit: \.\./nbs/(\S+\.ipynb)', module.read_text())
    assert m, f'{module} has no nbdev header: every module is exported from a notebook'
    return m.group(1)

def _own_imports(module:Path)->set:
    "Names of the nnrecipe modules `module` imports, at any depth of its code."
    out = set()
    for n in ast.walk(ast.parse(module.read_text())):
        if isinstance(n, ast.ImportFrom) and (n.level == 1 or (n.module or '').startswith('nnrecipe')):
            name = (n.module or '').removeprefix('nnrecipe').strip('.')
            if name: out.add(name.split('.')[0])
    return out

def _modules(): return sorted(p for p in PKG.glob('*.py') if not p.name.startswith('_'))

def test_numbers_unique():
    nums = [p.name[:2] for p in NBS.glob('[0-9][0-9]_*.ipynb')]
    assert len(nums) == len(set(nums)), sorted(n for n in nums if nums.count(n) > 1)

def test_dependency_order():
    "A module imports only modules exported from notebooks numbered before its own: notebook order is dependency order."
    num = {p.stem: _notebook_of(p)[:2] for p in _modules()}
    late = [(m, d) for m in num for d in _own_imports(PKG/f'{m}.py') if d in num and num[d] >= num[m]]
    assert not late, f'modules importing a later (or the same) notebook: {late}'

def test_no_stdlib_names():
    clash = [p.stem for p in _modules() if p.stem in sys.stdlib_module_names]
    assert not clash, f'modules shadowing the standard library: {clash}'

def test_one_learner_factory():
    "Every learner is built by nnrecipe.learner.recipe_learner: no other module calls fastai's builders directly."
    builders = re.compile(r'\b(Learner|vision_learner|unet_learner|cnn_learner)\(')
    found = [(p.name, l.strip()) for p in _modules() if p.stem not in ('learner', 'tabular') for l in p.read_text().splitlines()
             if builders.search(l) and not l.lstrip().startswith(('#', '"', "'")) and 'isinstance' not in l]
    assert not found, found
