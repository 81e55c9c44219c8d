"""The measured tables of the docs are their JSON's rows, and every shipped
config has a row (measured, or its failure named): docs/flops.md from
docs/flops/flops.json, docs/deployment.md from
docs/deployment/export_table.json."""
import json
import os.path as osp
import sys

import pytest
from helpers import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
import model_index  # noqa: E402

CONFIGS = sorted(c for cs in model_index.config_folders().values()
                 for c in cs)
TABLES = {
    'flops': ('docs/flops/flops.json', 'docs/flops.md', 'get_flops'),
    'export': ('docs/deployment/export_table.json', 'docs/deployment.md',
               'export_all'),
}


@pytest.mark.parametrize('table', sorted(TABLES))
def test_every_config_has_a_row_and_the_page_shows_the_json(table):
    data, page, tool = TABLES[table]
    rows = json.load(open(osp.join(ROOT, data)))
    assert sorted(r['config'] for r in rows) == CONFIGS
    markdown_row = __import__(tool).markdown_row
    text = open(osp.join(ROOT, page)).read()
    missing = [r['config'] for r in rows if markdown_row(r) not in text]
    assert not missing, f'{page} lacks the rows of {missing}'


def test_benchmark_page_lists_every_registered_case():
    """docs/benchmark.md's table of cases is the registry's."""
    import mmattn.benchmark.cases  # noqa: F401  (registers the cases)
    from mmattn.benchmark.cases.framework import list_cases
    text = open(osp.join(ROOT, 'docs', 'benchmark.md')).read()
    for case in list_cases():
        h, w = case.size
        row = (f'| `{case.name}` | {" ".join(case.help.split())} | '
               f'{h}x{w}, {case.batch} |')
        assert row in text, case.name


def test_long_range_model_table_names_every_model_of_the_grid():
    sys.path.insert(0, osp.join(ROOT, 'projects', 'long_range'))
    from long_range.recipe import SEG_MODELS
    text = open(osp.join(ROOT, 'docs', 'long_range.md')).read()
    table = text[text.index('| model | what it is | config |'):]
    table = table[:table.index('\n\n')]
    for name in SEG_MODELS:
        assert f'`{name}`' in table, name
