#!/bin/bash
# Runs INSIDE the VM (SIGIL_VM_DEB=1 npm run test:vm): the Debian package's life on a Debian 12 host,
# as an operator lives it. Install with `apt install ./sigil_<v>_amd64.deb`, start NATS and the
# control plane, enrol and start the agent; upgrade to a second build (`apt install` again): the
# edited conffile, the NATS authority and the pinned programs must survive and the agent be restarted;
# `apt purge`: program, commands, units, configs, state and the kernel programs must be gone (checked
# with bpftool, not with anything of the package). One `SIGIL-VM {json}` line per check on the second
# serial port, then SIGIL-VM-DONE, then power-off.
set -u
OUT="${1:-/dev/ttyS1}"
DEBS=/root/debs
V1="$(ls $DEBS/sigil_*_amd64.deb | grep -v +vm2 | head -n 1)"
V2="$(ls $DEBS/sigil_*+vm2_amd64.deb | head -n 1)"
export DEBIAN_FRONTEND=noninteractive SIGIL_TOKEN_FILE=/var/lib/sigil/controlplane/admin.token

json_string() { # stdin → a JSON string (last 600 bytes; control characters but newline dropped)
  printf '"%s"' "$(tail -c 600 | tr -d '\000-\011\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'BEGIN { ORS = "" } { if (NR > 1) print "\\n"; print }')"
}
report() { # name ok(true|false) detail
  printf 'SIGIL-VM {"section":"deb-check","data":{"name":"%s","ok":%s,"detail":%s}}\n' "$1" "$2" "$(printf '%s' "$3" | json_string)" > "$OUT"
}
check() { # name command...: ok when the command succeeds; its output is the detail
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then report "$name" true "$out"; else report "$name" false "$out"; fi
}
pins() { ls -i /sys/fs/bpf/sigil 2>/dev/null | sort -k2; }
sigil_progs() { bpftool cgroup show /sys/fs/cgroup 2>&1 | grep -c 'sigil_' || true; }
main_pid() { systemctl show -p MainPID --value sigil-agent.service; }
start_units() { # units...: enable --now, then each must be active within 120 s (Restart=on-failure may
  # bring one back after a first failed start, e.g. the control plane starting before NATS listens:
  # said in the detail). On failure the status and journal of each unit are the detail.
  local u first=ok
  systemctl enable --now "$@" 2>&1 || first="the first start failed"
  for u in "$@"; do
    for _ in $(seq 120); do [ "$(systemctl is-active "$u")" = active ] && break; sleep 1; done
  done
  if systemctl is-active "$@" >/dev/null; then
    echo "$first; active: $*; restarts: $(for u in "$@"; do systemctl show -p NRestarts --value "$u"; done | tr '\n' ' ')"
    for u in "$@"; do [ "$first" = ok ] || journalctl -u "$u" --no-pager -o cat 2>&1 | grep -iE 'error|fail' | head -n 3; done
    return 0
  fi
  for u in "$@"; do systemctl status --no-pager "$u" 2>&1 | tail -n 4; journalctl -u "$u" --no-pager -o cat 2>&1 | tail -n 12; done
  return 1
}

# --- install ---
check install apt-get install -y "$V1"
check own-node sh -c '/opt/sigil/node/bin/node --version | grep "^v24\."'
check no-debian-nodejs sh -c '! dpkg -s nodejs >/dev/null 2>&1'
check commands sh -c 'sigil-agent --help >/dev/null && sigil --help >/dev/null && sigil-controlplane --help >/dev/null; command -v sigil sigil-agent sigil-controlplane'
check system-user getent passwd sigil
check controlplane-config-group sh -c 'stat -c "%U:%G %a" /etc/sigil/controlplane.yaml | grep -x "root:sigil 640"'
check nats-authority sh -c 'test -s /etc/sigil/nats.conf && test -s /var/lib/sigil/controlplane/fleet/nats-auth.json && stat -c "%U %a" /var/lib/sigil/controlplane'
check profile-d sh -c '. /etc/profile.d/sigil.sh; test "$SIGIL_TOKEN_FILE" = /var/lib/sigil/controlplane/admin.token'
check start-controlplane start_units sigil-nats.service sigil-controlplane.service
finish() { echo SIGIL-VM-DONE > "$OUT"; sync; systemctl poweroff; exit 0; }
# Without a control plane nothing after this can pass: say so once instead of timing out step by step.
systemctl is-active --quiet sigil-controlplane.service || { report aborted false "the control plane did not start: see start-controlplane"; finish; }
TOKEN="$(sigil token create --labels role=vm 2>/tmp/token.err)" || report token-create false "$(cat /tmp/token.err)"
check enroll sigil-agent enroll --token "$TOKEN" --control-plane http://127.0.0.1:8787
check start-agent start_units sigil-agent.service
check agent-attached sh -c "test \"\$(bpftool cgroup show /sys/fs/cgroup | grep -c sigil_)\" -ge 3 && ls /sys/fs/bpf/sigil"
PINS_BEFORE="$(pins)"
PID_BEFORE="$(main_pid)"
AUTH_BEFORE="$(sha256sum /var/lib/sigil/controlplane/fleet/nats-auth.json)"
echo '# local edit (vm test): must survive upgrades' >> /etc/sigil/agent.yaml

# --- upgrade ---
check upgrade apt-get install -y "$V2"
check upgraded-version sh -c 'dpkg-query -W -f "\${Version}" sigil | grep "+vm2"'
check conffile-kept grep -q '^# local edit (vm test)' /etc/sigil/agent.yaml
check nats-authority-kept sh -c "test \"\$(sha256sum /var/lib/sigil/controlplane/fleet/nats-auth.json)\" = \"$AUTH_BEFORE\""
check agent-restarted sh -c "wait_active() { for _ in \$(seq 90); do [ \"\$(systemctl is-active sigil-agent)\" = active ] && return 0; sleep 1; done; return 1; }; wait_active && test \"\$(systemctl show -p MainPID --value sigil-agent)\" != \"$PID_BEFORE\" && echo pid $PID_BEFORE '->' \$(systemctl show -p MainPID --value sigil-agent)"
check pins-kept sh -c "test \"\$(ls -i /sys/fs/bpf/sigil | sort -k2)\" = \"$PINS_BEFORE\" && echo same pins: \$(ls /sys/fs/bpf/sigil | wc -l)"
check still-attached sh -c 'test "$(bpftool cgroup show /sys/fs/cgroup | grep -c sigil_)" -ge 3'
check controlplane-after-upgrade systemctl is-active sigil-controlplane.service

# --- purge ---
check purge apt-get purge -y sigil
check program-gone sh -c '! test -e /opt/sigil && ! test -e /usr/bin/sigil && ! test -e /usr/bin/sigil-agent && ! test -e /lib/systemd/system/sigil-agent.service'
check configs-gone sh -c '! test -e /etc/sigil && ! test -e /etc/profile.d/sigil.sh'
check state-gone sh -c '! test -e /var/lib/sigil && ! test -e /var/lib/sigil-nats'
check pins-gone sh -c '! test -e /sys/fs/bpf/sigil'
check programs-detached sh -c 'out="$(bpftool cgroup show /sys/fs/cgroup 2>&1)"; echo "$out"; ! echo "$out" | grep -q sigil_'
check units-gone sh -c '! systemctl cat sigil-agent.service >/dev/null 2>&1'
finish
