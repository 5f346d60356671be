#!/usr/bin/env bash
# Sets up CUPS with a virtual PDF printer named "PDF" (cups-pdf), for Parchi's printing tests.
#
# Idempotent: safe to run again. Runs as root on Debian 12, with or without systemd: when the
# scheduler is not running it is started by hand. Prints the directory where printed PDFs land.
#
#   sudo scripts/setup-cups.sh            # queue "PDF", output in /var/spool/cups-pdf/out
#   PARCHI_PDF_OUT=/tmp/pdf-out scripts/setup-cups.sh
#
# The last line of standard output is the output directory, so scripts can capture it:
#   out=$(scripts/setup-cups.sh | tail -n 1)
set -euo pipefail

QUEUE="${PARCHI_PDF_QUEUE:-PDF}"
OUT_DIR="${PARCHI_PDF_OUT:-/var/spool/cups-pdf/out}"
CONF=/etc/cups/cups-pdf.conf

log() { echo "setup-cups: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs packages and configures CUPS)"
    exit 1
fi

# 1. Packages: the scheduler, the client tools (lp, lpstat, cupsenable) and the PDF backend.
need=()
for pkg in cups cups-client cups-bsd printer-driver-cups-pdf; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        need+=("$pkg")
    fi
done
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# 2. Where cups-pdf writes: a fixed directory (not the submitting user's home), every file
#    labelled with its job id so that two slips with the same title never overwrite each other.
mkdir -p "$OUT_DIR"
chmod 0777 "$OUT_DIR"
set_conf() {
    local key="$1" value="$2"
    if grep -Eq "^[#[:space:]]*${key}[[:space:]]" "$CONF"; then
        # Replace the first (possibly commented) line for the key, drop any later duplicates.
        awk -v k="$key" -v v="$value" '
            BEGIN { done = 0 }
            $0 ~ "^[#[:space:]]*" k "[[:space:]]" {
                if (!done) { print k " " v; done = 1 }
                next
            }
            { print }
        ' "$CONF" > "$CONF.parchi.tmp"
        cat "$CONF.parchi.tmp" > "$CONF"
        rm -f "$CONF.parchi.tmp"
    else
        echo "$key $value" >> "$CONF"
    fi
}
set_conf Out "$OUT_DIR"
set_conf AnonDirName "$OUT_DIR"
set_conf Label 1

# 3. The scheduler. Without systemd nothing starts it, so start it by hand when it is down.
if ! lpstat -r 2>/dev/null | grep -q 'scheduler is running'; then
    log "starting cupsd"
    mkdir -p /run/cups
    if command -v service >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        service cups start >&2
    else
        /usr/sbin/cupsd
    fi
    for _ in $(seq 1 50); do
        if lpstat -r 2>/dev/null | grep -q 'scheduler is running'; then
            break
        fi
        sleep 0.1
    done
    if ! lpstat -r 2>/dev/null | grep -q 'scheduler is running'; then
        log "cupsd did not start; see /var/log/cups/error_log"
        exit 1
    fi
fi

# 4. The queue. The model name of the cups-pdf PPD is asked from CUPS rather than guessed.
if ! lpstat -p "$QUEUE" >/dev/null 2>&1; then
    model="$(lpinfo -m 2>/dev/null | awk '/CUPS-PDF_opt\.ppd/ { print $1; exit }')"
    if [ -z "$model" ]; then
        model="$(lpinfo -m 2>/dev/null | awk '/[Cc][Uu][Pp][Ss]-[Pp][Dd][Ff]/ { print $1; exit }')"
    fi
    if [ -z "$model" ]; then
        log "no cups-pdf PPD found by lpinfo -m; is printer-driver-cups-pdf installed?"
        exit 1
    fi
    log "adding queue $QUEUE (model $model)"
    lpadmin -p "$QUEUE" -E -v cups-pdf:/ -m "$model"
fi
# A test may have stopped the queue or made it reject jobs: always leave it ready.
cupsenable "$QUEUE"
cupsaccept "$QUEUE"

log "queue $QUEUE is ready; printed PDFs are written to:"
echo "$OUT_DIR"
