#!/usr/bin/env bash
# Set up Duet on Debian: system packages, then a virtual environment in .venv with Duet in it.
#   scripts/setup.sh          what `duet run` needs (espeak-ng, PortAudio)
#   scripts/setup.sh --test   also what the tests need (PulseAudio and PipeWire virtual devices,
#                             sox, recordings, a browser)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(espeak-ng libportaudio2 libasound2-plugins)
extras=""
if [[ "${1:-}" == "--test" ]]; then
    packages+=(pulseaudio pulseaudio-utils sox alsa-utils pocketsphinx-testdata chromium
               pipewire pipewire-pulse wireplumber dbus-daemon)
    extras="[test]"
fi

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if command -v apt-get >/dev/null; then
    missing=()
    for p in "${packages[@]}"; do  # removed but not purged still has a status: ask for installed
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
else
    echo "setup: not Debian: install ${packages[*]} with your package manager" >&2
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -qq -e ".$extras"  # -qq: errors only (setuptools prints an editable-install notice)
echo "setup: ready. Run: .venv/bin/duet run   (or: .venv/bin/duet --help)"
