#!/usr/bin/env bash
# Provisions what `npm test` needs on a Debian or Ubuntu machine: installs only the missing system packages with
# apt-get (as root, or through passwordless sudo) and starts a Redis when none answers. Silent when nothing is missing.
#
#   bash scripts/provision-test-machine.sh     # `npm test` runs it before vitest
#
# PROVISION_DRY_RUN=1 prints what it would run instead of running it; PROVISION_PRETEND_MISSING="gesftpserver ..."
# treats those packages as missing (both for trying this script out on a machine that has everything).
set -euo pipefail

say() { echo "provision: $*"; }
dry_run() { [ -n "${PROVISION_DRY_RUN:-}" ]; }

# package name, and the check that it is there (the paths the tests use: test/support/sftp-server.ts,
# test/support/sftp-peers/, test/support/test-chromium.ts)
package_present() {
  case "$1" in
    openssh-server) [ -x /usr/sbin/sshd ] && [ -x /usr/lib/openssh/sftp-server ] ;;
    openssh-client) command -v ssh-keygen >/dev/null && command -v sftp >/dev/null ;;
    proftpd-core) [ -x /usr/sbin/proftpd ] ;;
    proftpd-mod-crypto) [ -e /usr/lib/proftpd/mod_sftp.so ] ;;
    gesftpserver) [ -x /usr/libexec/gesftpserver ] ;;
    chromium) [ -x /usr/bin/chromium ] ;;
    # Emoji in demo chats render as boxes in the browser tests' screenshots without a colour emoji font.
    fonts-noto-color-emoji) [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] ;;
    # The test SMTP server's certificate is made with openssl for each run (test/support/smtp-server.ts).
    openssl) command -v openssl >/dev/null ;;
    redis-server) command -v redis-server >/dev/null ;;
  esac
}
pretend_missing() { [[ " ${PROVISION_PRETEND_MISSING:-} " == *" $1 "* ]]; }

redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
redis_authority="${redis_url#*://}"
redis_authority="${redis_authority%%/*}"
redis_hostport="${redis_authority#*@}"
redis_host="${redis_hostport%:*}"
redis_port="${redis_hostport##*:}"
[ "$redis_port" != "$redis_hostport" ] || redis_port=6379
redis_is_ours=""
case "$redis_url" in
  redis://*) if [ "$redis_authority" = "$redis_hostport" ]; then
    case "$redis_host" in 127.0.0.1 | localhost) redis_is_ours=yes ;; esac
  fi ;;
esac

# Any RESP answer counts (+PONG, or -NOAUTH from a Redis with a password): something is serving REDIS_URL.
redis_answers() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c 1 <&3 | grep -q "[+-]"' \
    "$redis_host" "$redis_port" 2>/dev/null
}

missing=()
for package in openssh-server openssh-client proftpd-core proftpd-mod-crypto gesftpserver chromium fonts-noto-color-emoji openssl; do
  package_present "$package" && ! pretend_missing "$package" || missing+=("$package")
done
redis_up=""
if redis_answers && ! pretend_missing redis-server; then redis_up=yes; fi
if [ -z "$redis_up" ] && [ -z "$redis_is_ours" ]; then
  say "no Redis answers at REDIS_URL=$redis_url: start that server, or unset REDIS_URL to use one on 127.0.0.1:6379"
  exit 1
fi
if [ -z "$redis_up" ] && { ! package_present redis-server || pretend_missing redis-server; }; then missing+=(redis-server); fi

if [ "${#missing[@]}" -gt 0 ]; then
  install_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if ! command -v apt-get >/dev/null; then
    say "missing ${missing[*]} (Debian package names) and this machine has no apt-get: install them with its package manager, then run npm test again"
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  else
    say "missing ${missing[*]}; run as root (not root here, no passwordless sudo): sudo bash scripts/provision-test-machine.sh   (or: $install_line)"
    exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  if dry_run; then
    say "would run: ${as_root[*]} apt-get update -qq; ${as_root[*]} apt-get install -y -qq --no-install-recommends ${missing[*]}"
  else
    # The tests start their own sshd, ProFTPD and Redis on free ports: keep the packages' postinst from starting system
    # daemons (policy-rc.d answering 101 forbids every service start during the install).
    policy=/usr/sbin/policy-rc.d
    remove_policy=""
    log="$(mktemp)"
    trap '[ -z "$remove_policy" ] || "${as_root[@]}" rm -f "$policy"; rm -f "$log"' EXIT
    if [ ! -e "$policy" ]; then
      remove_policy=yes
      printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
      "${as_root[@]}" chmod 755 "$policy"
    fi
    if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      say "apt-get could not install ${missing[*]} (output above); fix that, or run: $install_line"
      exit 1
    fi
    for package in "${missing[@]}"; do
      package_present "$package" || { say "apt-get installed $package but what the tests use of it is not there (see package_present in $0)"; exit 1; }
    done
  fi
fi

if [ -z "$redis_up" ]; then
  say "starting redis-server on $redis_host:$redis_port (stays running after the tests; stop it with: redis-cli -p $redis_port shutdown)"
  if dry_run; then
    say "would run: redis-server --daemonize yes --bind 127.0.0.1 --port $redis_port --save '' --appendonly no"
  else
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do redis_answers && break; sleep 0.1; done
    redis_answers || { say "redis-server did not answer on $redis_host:$redis_port within 5 s"; exit 1; }
  fi
fi
