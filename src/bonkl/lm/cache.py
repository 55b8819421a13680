"""A key/value cache whose layers write each decoding step's column in place.

transformers' ``DynamicLayer`` concatenates the whole cache at every step (``torch.cat``), which on
a CPU cost more than the attention itself. ``BufferLayer`` keeps keys and values as a window of
columns in a larger buffer; the decoder (``bonkl.lm.decoder``) trims columns from the left by
taking a narrower window, which is free.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer


def window_end(view: torch.Tensor, buffer: torch.Tensor) -> int | None:
    """The column after ``view`` if ``view`` is ``buffer[:, :, a:b]`` (it is then ``b``), else None."""
    if (
        view.shape[:2] != buffer.shape[:2]
        or view.stride() != buffer.stride()
        or view.untyped_storage().data_ptr() != buffer.untyped_storage().data_ptr()
    ):
        return None
    start, rest = divmod(view.storage_offset() - buffer.storage_offset(), buffer.stride(2))
    return start + view.shape[2] if rest == 0 and start >= 0 else None


class BufferLayer(DynamicLayer):
    """A cache layer whose keys and values are a window of columns in a larger buffer.

    A step writes its columns in place. Any other change of ``keys``/``values`` (row selection,
    repetition) is noticed at the next update, which then copies into a fresh buffer; so does
    running out of spare columns.
    """

    spare = 128

    def window_end(self) -> int | None:
        """The buffer column where ``keys``/``values`` end, if they are still a window of the
        buffers (else None: they were replaced and must be copied into fresh buffers)."""
        buffers = getattr(self, "buffers", None)
        if buffers is None:
            return None
        end = window_end(self.keys, buffers[0])
        return end if end is not None and window_end(self.values, buffers[1]) == end else None

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        old, step = self.get_seq_length(), key_states.shape[-2]
        end = self.window_end()
        if end is None or end + step > self.buffers[0].shape[2]:
            self.buffers = tuple(
                s.new_empty(s.shape[0], s.shape[1], old + step + self.spare, s.shape[3])
                for s in (key_states, value_states)
            )
            if old:
                self.buffers[0][:, :, :old], self.buffers[1][:, :, :old] = self.keys, self.values
            end = old
        keys, values = self.buffers
        keys[:, :, end : end + step], values[:, :, end : end + step] = key_states, value_states
        self.keys, self.values = keys[:, :, end - old : end + step], values[:, :, end - old : end + step]
        return self.keys, self.values

    def batch_select_indices(self, indices):
        """Select rows of the buffers (one copy, spare columns kept) rather than of the window."""
        end = self.window_end()
        if end is None:
            return super().batch_select_indices(indices)
        length = self.keys.shape[2]
        self.buffers = tuple(b[indices] for b in self.buffers)
        self.keys, self.values = (b[:, :, end - length : end] for b in self.buffers)


class BufferCache(DynamicCache):
    """A DynamicCache of ``BufferLayer``s holding each row's generated columns only, all
    full-attention (no sliding-window layers), so that every column stays and row slots can be
    rewritten. The prompt's columns are kept once, by the decoder."""

    def __init__(self):
        Cache.__init__(self, layer_class_to_replicate=BufferLayer)
