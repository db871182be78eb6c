"""The speech edge: microphone and devices, voice-activity endpointing, the listener, the voice
(text to speech and playback), the recognizer seam with one module per engine and the picker
(``engines``), the command spotter (``spotter``, ``soundalike``, ``denoise``), WAV reading, word
error rate, the C heap's policy (``heap``), barge-in (``bargein``, behind ``echo``: PulseAudio's
echo canceller), and the live port that joins them to a session."""
