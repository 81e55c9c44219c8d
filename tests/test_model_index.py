"""configs/*/README.md, configs/*/metafile.yaml and model-index.yml: every
config is listed once, every entry names a config that exists, OpenMMLab's
modelindex reads them, and they are what tools/analysis_tools/model_index.py
writes from the configs and the measured JSONs now (no drift)."""
import glob
import os.path as osp
import sys

import yaml
from helpers import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import model_index  # noqa: E402


def _metafiles():
    return sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yaml')))


def test_every_config_is_listed_once_and_every_entry_exists():
    listed = []
    for path in _metafiles():
        meta = yaml.safe_load(open(path))
        names = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert osp.exists(osp.join(ROOT, model['Config'])), model['Name']
            assert model['In Collection'] in names, model['Name']
            assert model['Name'] == osp.splitext(
                osp.basename(model['Config']))[0]
            listed.append(model['Config'])
    configs = [c for cs in model_index.config_folders().values() for c in cs]
    assert sorted(listed) == sorted(configs)  # each once, none missing
    # the top-level short names are aliases of listed configs
    for alias in glob.glob(osp.join(ROOT, 'configs', '*.py')):
        target = open(alias).read().split("'")[1]
        assert osp.normpath(osp.join('configs', target)) in listed


def test_model_index_imports_every_metafile_and_modelindex_reads_it():
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    assert index['Import'] == [osp.relpath(p, ROOT) for p in _metafiles()]
    from modelindex import load
    loaded = load(osp.join(ROOT, 'model-index.yml'))
    assert len(loaded.models) == len(
        [c for cs in model_index.config_folders().values() for c in cs])
    for folder in model_index.config_folders():
        assert osp.exists(osp.join(ROOT, 'configs', folder, 'README.md'))


def test_pages_and_metafiles_are_the_tools_output(capsys):
    """Adding a config, or a measurement to the JSONs, without rerunning
    the tool fails here."""
    assert model_index.main(['--check']) == 0, capsys.readouterr().out


def test_bibtex_of_every_paper_is_well_formed():
    for key, (title, arxiv, authors, venue, year, line) in \
            model_index.PAPERS.items():
        entry = model_index.bibtex(key)
        assert entry.count('{') == entry.count('}'), key
        assert f'title     = {{{title}}}' in entry
        assert arxiv.count('.') == 1 and str(year) in entry
        assert line and not line.endswith('.')
