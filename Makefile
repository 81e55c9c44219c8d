# mmattn: the commands of the README.
#   make install   install the pinned stack and mmattn (into .venv unless MMATTN_PYTHON is set)
#   make test      install if needed, then run the whole test suite
#   make demo      install if needed, then train SPANet on synthetic Cityscapes and evaluate
VENV ?= .venv
export VENV
PY := $(if $(MMATTN_PYTHON),$(MMATTN_PYTHON),$(VENV)/bin/python)
PYTEST_ARGS ?=

.PHONY: install test demo clean

install:
	@bash tools/install.sh

# TRITON_INTERPRET=1: where torch brings Triton, its kernels run on the CPU
# (the GPU code path of mmattn.ops, checked without a GPU).
test: install
	TRITON_INTERPRET=1 $(PY) -m pytest tests -q $(PYTEST_ARGS)

demo: install
	$(PY) projects/long_range/tools/demo.py

clean:
	rm -rf work_dirs data/synthetic
