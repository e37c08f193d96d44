# shellcheck shell=bash
# Numbered steps with their duration, for long builds (images/build.sh). Source it, then:
#
#   progress_init TOTAL PREFIX QUIET   QUIET=1: no plain lines (a terminal still sees each step, erased when it ends)
#   step_begin NAME [WHAT]             a new step: "[N/TOTAL] NAME: WHAT"
#   step_run CMD [ARGS...]             runs a long command of the step (same shell: functions and set -e work);
#                                      on a terminal the line's spinner and seconds move meanwhile
#   step_end [NOTE]                    the step is over: "[N/TOTAL] NAME: done in 12.3 s"
#   step_cached NAME                   a step with nothing to do: "[N/TOTAL] NAME: up to date"
#   progress_break / progress_redraw   around anything else printed while a step runs (messages, errors)
#
# On a terminal (stderr is a tty) each step's line is redrawn in place on stderr (\r, erase to end of line)
# and stays with its duration; elsewhere plain lines on stdout, one when a step starts and one when it ends.
# A step that is running when the script exits (an error under set -e, die) ends with "failed after N s".

_progress_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}
_progress_secs() { # ms since the step began, as 12.3
	local ms=$(($(_progress_ms) - PROGRESS_T0))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

progress_init() { # total prefix quiet
	PROGRESS_TOTAL=$1
	PROGRESS_PREFIX=$2
	PROGRESS_QUIET=${3:-0}
	PROGRESS_N=0
	PROGRESS_LABEL=
	PROGRESS_SPIN=
	PROGRESS_T0=0
	PROGRESS_COLS=80
	if [ -t 2 ] && [ "${TERM:-dumb}" != dumb ]; then
		PROGRESS_TTY=1
		local cols
		cols=$(stty size 0<&2 2>/dev/null | cut -d' ' -f2) || true
		[ -n "$cols" ] && [ "$cols" -gt 20 ] 2>/dev/null && PROGRESS_COLS=$cols
	else
		PROGRESS_TTY=0
	fi
	trap _progress_exit EXIT
}

# The step's line, cut to the terminal's width (a wrapped line cannot be redrawn with \r).
_progress_draw() { # spinner
	local clock text
	clock="  $(_progress_secs) s"
	text="$1 $PROGRESS_LABEL"
	if [ $((${#text} + ${#clock})) -ge "$PROGRESS_COLS" ]; then
		text="${text:0:$((PROGRESS_COLS - ${#clock} - 4))}..."
	fi
	printf '\r\033[K%s%s' "$text" "$clock" >&2
}

# Redraws the line every 0.2 s until stopped (or until the script is gone).
_progress_spin() {
	trap 'exit 0' TERM
	local i=0 frames='|/-\'
	while kill -0 "$PROGRESS_PARENT" 2>/dev/null; do
		_progress_draw "${frames:i++%4:1}"
		sleep 0.2
	done
}

_progress_spin_stop() {
	if [ -n "$PROGRESS_SPIN" ]; then
		kill "$PROGRESS_SPIN" 2>/dev/null || true
		wait "$PROGRESS_SPIN" 2>/dev/null || true
		PROGRESS_SPIN=
	fi
}

step_begin() { # name [what]
	_progress_spin_stop
	PROGRESS_N=$((PROGRESS_N + 1))
	PROGRESS_NAME="[$PROGRESS_N/$PROGRESS_TOTAL] $1"
	PROGRESS_LABEL="$PROGRESS_NAME${2:+: $2}"
	PROGRESS_T0=$(_progress_ms)
	if [ "$PROGRESS_TTY" = 1 ]; then
		_progress_draw '|'
	elif [ "$PROGRESS_QUIET" != 1 ]; then
		echo "$PROGRESS_PREFIX$PROGRESS_LABEL"
	fi
}

# What the command writes to stderr, each line on a line of its own (not after the spinner's text).
_progress_lines() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do printf '\r\033[K%s\n' "$line"; done
}

step_run() { # cmd [args...]
	if [ "$PROGRESS_TTY" != 1 ] || [ -z "$PROGRESS_LABEL" ]; then
		"$@"
		return
	fi
	PROGRESS_PARENT=$$
	_progress_spin &
	PROGRESS_SPIN=$!
	"$@" 2> >(_progress_lines >&2)
	local lines=$!
	_progress_spin_stop
	wait "$lines" 2>/dev/null || true
}

step_end() { # [note]
	_progress_spin_stop
	local took
	took=$(_progress_secs)
	if [ "$PROGRESS_TTY" = 1 ]; then
		if [ "$PROGRESS_QUIET" = 1 ]; then
			printf '\r\033[K' >&2
		else
			printf '\r\033[K%s: done in %s s%s\n' "$PROGRESS_LABEL" "$took" "${1:+ ($1)}" >&2
		fi
	elif [ "$PROGRESS_QUIET" != 1 ]; then
		echo "$PROGRESS_PREFIX$PROGRESS_NAME: done in $took s${1:+ ($1)}"
	fi
	PROGRESS_LABEL=
}

step_cached() { # name
	_progress_spin_stop
	PROGRESS_N=$((PROGRESS_N + 1))
	PROGRESS_LABEL=
	[ "$PROGRESS_QUIET" = 1 ] && return 0
	if [ "$PROGRESS_TTY" = 1 ]; then
		printf '\r\033[K[%s/%s] %s: up to date\n' "$PROGRESS_N" "$PROGRESS_TOTAL" "$1" >&2
	else
		echo "$PROGRESS_PREFIX[$PROGRESS_N/$PROGRESS_TOTAL] $1: up to date"
	fi
}

# Erases the step's line on a terminal so that a message printed now starts on a clean line.
progress_break() {
	if [ "${PROGRESS_TTY:-0}" = 1 ] && [ -n "${PROGRESS_LABEL:-}" ]; then printf '\r\033[K' >&2; fi
}
progress_redraw() {
	if [ "${PROGRESS_TTY:-0}" = 1 ] && [ -n "${PROGRESS_LABEL:-}" ]; then _progress_draw '|'; fi
}

_progress_exit() {
	_progress_spin_stop
	[ -n "${PROGRESS_LABEL:-}" ] || return 0
	if [ "$PROGRESS_TTY" = 1 ]; then
		printf '\r\033[K%s: failed after %s s\n' "$PROGRESS_LABEL" "$(_progress_secs)" >&2
	else
		echo "$PROGRESS_PREFIX$PROGRESS_LABEL: failed after $(_progress_secs) s" >&2
	fi
	PROGRESS_LABEL=
}
