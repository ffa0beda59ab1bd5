# Two commands from a fresh clone: `make demo` and `make test`.
# Each creates/updates .venv from the pinned requirements.txt first, then installs this project into it
# editable (pyproject.toml), so the packages import from any folder (skipped when both are unchanged).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo lint test test-fast bench gallery train-demo train-cartoon2pixel bench-neural bench-stage bench-router clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing requirements into $(VENV) (first time takes a few minutes)"
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q --no-build-isolation -r requirements.txt
	@# setuptools' generic notice about editable installs is silenced: the project's packages have distinct names
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install -q --no-build-isolation --no-deps -e .
	$(PY) -m pip check
	@echo "compiling the postprocess kernels (once, about 15 s)"
	$(PY) -m postprocess.warmup
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) pixelize.py --demo

# ruff (rules in pyproject.toml [tool.ruff.lint]): pyflakes, import order, bugbear, docstrings on public names
lint: $(STAMP)
	$(PY) -m ruff check .

# the lint first: a finding fails `make test` (and CI)
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -rs $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_postprocess.py
	$(PY) benchmarks/bench_artist.py
	$(PY) benchmarks/bench_tradeoffs.py
	$(PY) benchmarks/bench_video.py
	$(PY) benchmarks/bench_generator.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_grid.py

# README gallery: docs/gallery/*.png + gallery.md (deterministic; commit the result)
gallery: $(STAMP)
	$(PY) benchmarks/make_gallery.py

train-demo: $(STAMP)
	$(PY) train_demo.py

# The cartoon -> pixel-art generator (README "The shipped generator"): dataset from two Debian packages
# (sudo apt-get install openclipart-png crawl-tiles-data), then the recipe for the compute you have.
# DEVICE=cpu: 64 px, resnet_6blocks, ngf/ndf 32, 20 epochs (about 40-50 min on 2 cores; the shipped run). DEVICE=cuda: the original
# work's configuration at 256 px (unet_256, instance norm, dropout), batch 16, --amp (bf16 where supported).
# Extra flags: TRAIN_ARGS="--continue_train" resumes exactly; a visdom server on :8097 shows it live.
DEVICE ?= cpu
TRAIN_ARGS ?=
STAGE_ARGS ?=
C2P_CPU_DATA  := datasets/cartoon2pixel64
C2P_CUDA_DATA := datasets/cartoon2pixel
C2P_COMMON := --model cycle_gan --preprocess none --save_epoch_freq 1 --seed 0
C2P_CPU  := --dataroot $(C2P_CPU_DATA) --name cartoon2pixel_cpu --gpu_ids -1 --netG resnet_6blocks \
            --ngf 32 --ndf 32 --load_size 64 --crop_size 64 --batch_size 4 --n_epochs 10 --n_epochs_decay 10 \
            --lambda_identity 1.0 --num_threads 1 --print_freq 200
C2P_CUDA := --dataroot $(C2P_CUDA_DATA) --name cartoon2pixel --gpu_ids 0 --netG unet_256 --ngf 64 --ndf 64 \
            --norm instance --use_dropout --load_size 256 --crop_size 256 --batch_size 16 --amp \
            --n_epochs 100 --n_epochs_decay 100 --num_threads 8

train-cartoon2pixel: $(STAMP)
ifeq ($(DEVICE),cuda)
	test -f $(C2P_CUDA_DATA)/manifest.json || $(PY) -m datasets.make_cartoon2pixel $(C2P_CUDA_DATA) --size 256 --cell 8 --limit 1000
	$(PY) train.py $(C2P_CUDA) $(C2P_COMMON) $(TRAIN_ARGS)
else ifeq ($(DEVICE),cpu)
	test -f $(C2P_CPU_DATA)/manifest.json || $(PY) -m datasets.make_cartoon2pixel $(C2P_CPU_DATA) --size 64 --cell 2 --limit 800
	$(PY) train.py $(C2P_CPU) $(C2P_COMMON) $(TRAIN_ARGS)
else
	@echo "DEVICE must be cpu or cuda, got '$(DEVICE)'"; exit 2
endif

# The learned stage on held-out drawings (README "Keeping the drawing's colours"): clip-art categories the
# guidance was not tuned on against every pixel-art style; needs openclipart-png crawl-tiles-data (and
# angband-data freeciv-data for the per-style figures). 90 % of each source lands in test*, which is all it reads.
HELDOUT := datasets/heldout256
bench-stage: $(STAMP)
	test -f $(HELDOUT)/manifest.json || $(PY) -m datasets.make_cartoon2pixel $(HELDOUT) --size 256 --cell 8 \
	    --categories food,transportation,tools --styles all --val_fraction 0 --test_fraction 0.9
	$(PY) benchmarks/bench_stage.py --dataroot $(HELDOUT) --limit 150 \
	    --exclude stateDict/cartoon2pixel_training_manifest.json $(STAGE_ARGS)

# The image-kind classifier behind --pretrained auto: labelled set from this machine, held-out accuracy.
bench-router: $(STAMP)
	$(PY) benchmarks/bench_router.py

# Every saved epoch of the CPU run on the validation split, the best one on the test split (see bench_neural.py).
bench-neural: $(STAMP)
	$(PY) benchmarks/bench_neural.py --dataroot $(C2P_CPU_DATA) --checkpoints checkpoints/cartoon2pixel_cpu

clean:
	rm -rf results .pytest_cache
