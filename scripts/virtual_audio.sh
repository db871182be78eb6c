#!/usr/bin/env bash
# Start a private PulseAudio daemon with virtual devices, so Duet can be tested with real audio
# and no sound card:
#   speaker         null sink, the default output; record what Duet says from speaker.monitor
#   micsink         null sink; play a WAV into it (paplay -d micsink answer.wav) ...
#   mic             ... and it is heard on this source, the default input
# Usage: eval "$(scripts/virtual_audio.sh start [DIR])"   prints the PULSE_* exports
#        eval "$(scripts/virtual_audio.sh start-pipewire [DIR])"   the same devices on PipeWire
#            (pipewire, wireplumber and pipewire-pulse in a D-Bus session of their own), as
#            most Debian 12 desktops run it
#        scripts/virtual_audio.sh plug-mic [DIR]   the microphone again, if a test unloaded it
#        scripts/virtual_audio.sh stop [DIR]
set -euo pipefail
cmd=${1:-start}
dir=${2:-${PULSE_RUNTIME_PATH:-/tmp/duet-pulse-$UID}}
export PULSE_RUNTIME_PATH=$dir PULSE_SERVER=unix:$dir/native

stop_session() {  # PipeWire: end its whole D-Bus session; return once every process of it is gone
    local pid
    pid=$(cat "$dir/session.pid")
    kill -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do pgrep -g "$pid" -r D,R,S,T >/dev/null || break; sleep 0.1; done  # zombies aside
    rm -f "$dir/session.pid"
}

load_devices() {  # the devices above; "$@" is added to the microphone's sink and source
    pactl load-module module-null-sink sink_name=speaker >/dev/null
    pactl load-module module-null-sink sink_name=micsink "$@" >/dev/null
    load_mic "$@"
}

load_mic() {
    pactl load-module module-remap-source source_name=mic master=micsink.monitor "$@" >/dev/null
}

case $cmd in
start)
    mkdir -p "$dir"; chmod 700 "$dir"
    if ! pactl info >/dev/null 2>&1; then
        # as root, pulseaudio insists on --system unless told otherwise; -n skips default.pa
        pulseaudio -D -n --exit-idle-time=-1 --disallow-exit --use-pid-file=yes \
            -L module-native-protocol-unix >&2
        for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
        load_devices
    fi
    pactl set-default-sink speaker
    pactl set-default-source mic
    echo "export PULSE_RUNTIME_PATH=$dir PULSE_SERVER=unix:$dir/native"
    ;;
start-pipewire)
    mkdir -p "$dir"; chmod 700 "$dir"
    if ! pactl info >/dev/null 2>&1; then
        # what is left of a session whose pulse server died holds PipeWire's lock: end it first
        [[ -f "$dir/session.pid" ]] && stop_session
        # wireplumber needs a session bus; pipewire-pulse serves $PULSE_RUNTIME_PATH/native
        echo "== start-pipewire $(date +%T.%N)" >>"$dir/log"
        XDG_RUNTIME_DIR=$dir setsid dbus-run-session -- bash -c \
            'pipewire & sleep 0.3; wireplumber & sleep 0.3
             (pipewire-pulse; echo "== pipewire-pulse ended: exit $? at $(date +%T.%N)") & wait' \
            >>"$dir/log" 2>&1 </dev/null &
        echo $! >"$dir/session.pid"
        for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
        # a mono microphone: PipeWire downmixes a stereo monitor's two equal channels at +3 dB
        # (PulseAudio averages them), which clipped loud peaks and moved the listener tests' levels
        load_devices channels=1
        # the session manager makes a new node a default only once it is listed
        for _ in $(seq 50); do pactl list short sources | grep -q $'\tmic\t' && break; sleep 0.1; done
    fi
    pactl set-default-sink speaker
    pactl set-default-source mic
    echo "export PULSE_RUNTIME_PATH=$dir PULSE_SERVER=unix:$dir/native"
    ;;
plug-mic)  # as the start commands load it: mono on PipeWire (a session.pid says PipeWire runs)
    if ! pactl list short sources | grep -q $'\tmic\t'; then
        if [[ -f "$dir/session.pid" ]]; then load_mic channels=1; else load_mic; fi
    fi
    pactl set-default-source mic
    ;;
stop)
    if [[ -f "$dir/session.pid" ]]; then
        stop_session
        rm -rf "$dir"
        exit 0
    fi
    # --disallow-exit makes the daemon refuse `pactl exit`: end it by its pid file, wait for it to
    # go, then remove its runtime folder (its socket; nothing else is kept there)
    [[ -f "$dir/pid" ]] || exit 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -rf "$dir"
    ;;
*) echo "usage: $0 start|start-pipewire|plug-mic|stop [DIR]" >&2; exit 2 ;;
esac
