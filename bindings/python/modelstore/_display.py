"""How results look in Jupyter: HTML tables (every value escaped: file
contents are untrusted) and a progress line for long operations."""
import html
import json
import sys
import time

#: Seconds an operation runs before its progress is shown.
PROGRESS_AFTER = 1.0
_MAX_ITEMS = 100    # list items and table rows shown before "... N more"
_MAX_TEXT = 2000    # characters of one string shown
_MAX_DEPTH = 8


def _e(value):
    return html.escape(str(value), quote=True)


def _scalar(value):
    if value is None:
        return "<i>null</i>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > _MAX_TEXT:
            return _e(value[:_MAX_TEXT]) + "&hellip; <i>(%d characters)</i>" % len(value)
        return _e(value)
    return _e(value)


def _more(count):
    return "<i>&hellip; %d more</i>" % count if count > 0 else ""


def html_value(value, depth=0):
    """A JSON value as HTML: objects as two-column tables, lists of objects
    as tables with a column per key, other lists inline."""
    if depth >= _MAX_DEPTH:
        return "<code>%s</code>" % _scalar(json.dumps(value))
    if isinstance(value, dict):
        return html_table(value.items(), depth)
    if isinstance(value, (list, tuple)):
        shown = list(value[:_MAX_ITEMS])
        if shown and all(isinstance(v, dict) for v in shown):
            keys = []
            for v in shown:
                keys += [k for k in v if k not in keys]
            head = "".join("<th>%s</th>" % _e(k) for k in keys)
            rows = "".join("<tr>%s</tr>" % "".join(
                "<td>%s</td>" % (html_value(v[k], depth + 1) if k in v else "") for k in keys) for v in shown)
            return ("<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>%s"
                    % (head, rows, _more(len(value) - len(shown))))
        if all(not isinstance(v, (dict, list, tuple)) for v in shown):
            items = ", ".join(_scalar(v) for v in shown)
            more = len(value) - len(shown)
            return "[%s%s]" % (items, ", " + _more(more) if more > 0 else "")
        return "<ol>%s</ol>%s" % ("".join("<li>%s</li>" % html_value(v, depth + 1) for v in shown),
                                  _more(len(value) - len(shown)))
    return _scalar(value)


def html_table(items, depth=0):
    items = list(items)
    rows = "".join('<tr><th style="text-align:left">%s</th><td style="text-align:left">%s</td></tr>'
                   % (_e(k), html_value(v, depth + 1)) for k, v in items[:_MAX_ITEMS])
    return "<table>%s</table>%s" % (rows, _more(len(items) - _MAX_ITEMS))


def _kernel_display():
    """IPython.display when running inside a Jupyter kernel (IPython is
    already imported there; it is never imported here), else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
        if shell is None or getattr(shell, "kernel", None) is None:
            return None
        from IPython import display
        return display
    except Exception:
        return None


class Progress:
    """A progress callback for the C library that shows nothing for the
    first PROGRESS_AFTER seconds (counted from its creation), then an
    updating HTML line in a notebook or a ``\\r`` line on stderr."""

    def __init__(self, label):
        self.label = label
        self.start = time.monotonic()
        self.last = None       # time of the last update
        self.handle = None     # IPython DisplayHandle
        self.stderr = False
        self.text = None
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        self.close(ok=exc_type is None)
        return False

    def __call__(self, done, total):
        now = time.monotonic()
        if self.last is None and now - self.start < PROGRESS_AFTER:
            return False
        if self.last is not None and now - self.last < 0.2 and done != total:
            return False
        self.last = now
        self._show(self._text(done, total, now))
        return False

    def _text(self, done, total, now):
        mb = 1024.0 * 1024.0
        if total:
            return "%s: %d%% (%.1f of %.1f MiB, %.0f s)" % (self.label, 100 * done // total, done / mb,
                                                           total / mb, now - self.start)
        return "%s: %.1f MiB (%.0f s)" % (self.label, done / mb, now - self.start)

    def _show(self, text):
        self.text = text
        display = None if self.stderr else _kernel_display()
        if display is not None:
            try:
                body = display.HTML("<code>%s</code>" % _e(text))
                if self.handle is None:
                    self.handle = display.display(body, display_id=True)
                else:
                    self.handle.update(body)
                return
            except Exception:
                pass  # fall back to stderr
        self.stderr = True
        sys.stderr.write("\r" + text)
        sys.stderr.flush()

    def close(self, ok=True):
        """Ends the progress line, when one was shown, with "done" (or
        "stopped" after an error). Idempotent."""
        if self.last is None or self.closed:
            return
        self.closed = True
        final = "%s: %s (%.0f s)" % (self.label, "done" if ok else "stopped", time.monotonic() - self.start)
        if self.stderr:
            sys.stderr.write("\r%s%s\n" % (final, " " * max(0, len(self.text) - len(final))))
            sys.stderr.flush()
        else:
            self._show(final)


class NoProgress:
    """Stands for Progress when the caller passed a callback (or None)."""

    def __init__(self, func):
        self.func = func

    def __enter__(self):
        return self.func

    def __exit__(self, *exc):
        return False


def progress_for(progress, label):
    """``progress=True``: a Progress shown after PROGRESS_AFTER seconds;
    a callable or None: itself. Use as a context manager."""
    if progress is True:
        return Progress(label)
    return NoProgress(progress or None)
