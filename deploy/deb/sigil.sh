# /etc/profile.d/sigil.sh (the sigil package, deploy/install.sh): the `sigil` CLI's admin token for login shells (`sudo -i`).
# The file is readable by root and the sigil user only; elsewhere pass --token-file.
if [ -z "${SIGIL_TOKEN_FILE:-}" ]; then
  export SIGIL_TOKEN_FILE=/var/lib/sigil/controlplane/admin.token
fi
