"""What audio a job may hold: one rule, checked from the container's header before
any work starts and enforced again while decoding.

A header can lie (a WAV that says 1 Hz, a FLAC of hours of digital silence in a
few MB): the declared shape is checked before decoding, and the decoder stops as
soon as its output passes what the limits allow, so memory and disk never depend
on what the header claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from dalston.errors import PayloadTooLarge, UnsupportedMedia

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
# Decoded output may run this far past the limit before the decoder stops: codec
# priming and padding make a file a little longer than its last packet says.
_DECODE_SLACK_S = 1.0


@dataclass(frozen=True)
class AudioLimits:
    max_duration_s: float = 2 * 3600.0
    max_channels: int = 16
    min_sample_rate: int = MIN_SAMPLE_RATE
    max_sample_rate: int = MAX_SAMPLE_RATE

    def check_shape(self, *, sample_rate: int, channels: int) -> None:
        """Refuse a sample rate or channel count outside the limits."""
        if not self.min_sample_rate <= sample_rate <= self.max_sample_rate:
            raise UnsupportedMedia(
                f"The audio's sample rate is {sample_rate} Hz; accepted are "
                f"{self.min_sample_rate} to {self.max_sample_rate} Hz.",
                param="file",
            )
        if not 1 <= channels <= self.max_channels:
            raise UnsupportedMedia(
                f"The audio has {channels} channels; accepted are 1 to "
                f"{self.max_channels}.",
                param="file",
            )

    def check_duration(self, duration_s: float) -> None:
        if duration_s > self.max_duration_s:
            raise PayloadTooLarge(
                f"The audio is {_hms(duration_s)} long; this server takes at most "
                f"{_hms(self.max_duration_s)} per file (DALSTON_MAX_AUDIO_DURATION_S).",
                param="file",
            )

    def max_output_samples(self, sample_rate: int) -> int:
        """Samples per channel a decoder at ``sample_rate`` may produce."""
        return int((self.max_duration_s + _DECODE_SLACK_S) * sample_rate)

    def decoded_too_long(self) -> PayloadTooLarge:
        """The error when decoding passes the limit that the header hid."""
        return PayloadTooLarge(
            "The audio decodes to more than this server's limit of "
            f"{_hms(self.max_duration_s)} per file (DALSTON_MAX_AUDIO_DURATION_S); "
            "its header understates its length.",
            param="file",
        )


def _hms(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{seconds:.1f} s"
