"""The speech edge: microphone and devices, voice-activity endpointing, the listener, the voice
(text to speech and playback), the recognizer seam with one module per engine and the picker
(``engines``), the command spotter (``spotter``, with ``soundalike`` matching by sound and
``denoise`` taking steady noise out first), WAV reading, word error rate, the C heap's policy
(``heap``), barge-in (``bargein``, with ``echo``: PulseAudio's echo canceller, so Duet can
listen while it speaks), and the live port that joins them to a session."""
