# Sourced by the set-up scripts: `retry WHAT COMMAND...` runs a download step again when the
# network fails it, so a dropped connection does not decide a CI verdict. The CI run of
# 2026-12-07 at 0aca5e8 failed when PyPI's connection broke 41.6 MB into a 70.7 MB wheel: pip
# retries a refused connection but not a body cut short.
#
# Bounded: at most RETRY_ATTEMPTS tries (4), 10, 30 then 60 s apart, so a dead network fails
# the set-up within about two minutes plus the commands' own timeouts. Each command must leave
# nothing half-written for the next try to trip over (pip and apt-get write a file only once it
# is complete; the scripts' own downloads go to a `.part` file first). Checksums are checked after
# the download and are never retried: a wrong file is an error, not bad luck.

retry() {
    local what=$1
    shift
    local attempts=${RETRY_ATTEMPTS:-4} attempt=1
    local -a delays=(10 30 60)
    until "$@"; do
        if ((attempt >= attempts)); then
            echo "$what: failed $attempt times, giving up" >&2
            return 1
        fi
        local delay=${delays[attempt - 1]:-60}
        echo "$what: failed (try $attempt of $attempts); trying again in $delay s" >&2
        sleep "$delay"
        attempt=$((attempt + 1))
    done
}
