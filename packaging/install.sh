#!/bin/sh
# Install poh-kiosk as a service (README: Running as a service):
#
#   packaging/install.sh --role booth [--prefix DIR] [--root DIR] [--no-enable] dist/poh
#   packaging/install.sh --role hub [--python PATH] [--prefix DIR] [--root DIR] [--no-enable] \
#       dist/poh-hub
#
# The booth role takes the PyInstaller folder (dist/poh/ of `make package`: the `poh`
# executable and its _internal/ folder) and copies it to the prefix (/opt/poh-kiosk) whole; it
# installs poh-kiosk.service (the screen, cage on tty1), poh-sync.service (the drain without
# the screen; not enabled), the PAM service and the user poh-kiosk. The hub role takes the
# wheelhouse of `make package-hub` (dist/poh-hub/: wheels/, requirements.txt, VERSION), makes a
# venv of this host's python3.11 (or --python PATH) in the prefix (/opt/poh-hub) and installs
# the wheels into it offline (pip --no-index --require-hashes); it installs poh-hub.service
# and the user poh-hub. Each role refuses the other's folder.
#
# Idempotent: a second run with the same bundle or wheelhouse changes nothing (the hub's venv is
# named after the hash of the wheelhouse's requirements.txt and not touched when it is there);
# users are made by systemd-sysusers (never twice); folders get their owner and mode again; the
# configuration (config.json, kiosk.env, hub.env, the hub folder) and the data (keys, database)
# are never written over. --root DIR installs into DIR as if it were / (tests, image builds): no
# systemctl, and without root privileges no chown (the modes are still set); the hub's venv is
# made at its path inside DIR, and its scripts name that path.
set -eu

PROG=install.sh
ROLE=
PREFIX=
PYTHON=python3.11
ROOT=
ENABLE=yes
BUNDLE=
HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
UNITS="$HERE/systemd"

die() { printf '%s: error: %s\n' "$PROG" "$1" >&2; exit 2; }
say() { printf '%s: %s\n' "$PROG" "$1"; }

while [ $# -gt 0 ]; do
    case $1 in
        --role) [ $# -ge 2 ] || die "--role needs booth or hub"; ROLE=$2; shift 2 ;;
        --role=*) ROLE=${1#--role=}; shift ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#--prefix=}; shift ;;
        --root) [ $# -ge 2 ] || die "--root needs a folder"; ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs a path"; PYTHON=$2; shift 2 ;;
        --python=*) PYTHON=${1#--python=}; shift ;;
        --no-enable) ENABLE=no; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$BUNDLE" ] || die "one bundle folder, not '$BUNDLE' and '$1'"; BUNDLE=$1; shift ;;
    esac
done

case $ROLE in
    booth) USER_NAME=poh-kiosk; NAME=poh-kiosk; DEFAULT_PREFIX=/opt/poh-kiosk
        WHAT=bundle; BUILD='dist/poh/ of `make package`'; MAKE='make package' ;;
    hub) USER_NAME=poh-hub; NAME=poh-hub; DEFAULT_PREFIX=/opt/poh-hub
        WHAT=wheelhouse; BUILD='dist/poh-hub/ of `make package-hub`'; MAKE='make package-hub' ;;
    '') die "give --role booth or --role hub" ;;
    *) die "--role $ROLE: booth or hub" ;;
esac
PREFIX=${PREFIX:-$DEFAULT_PREFIX}
case $PREFIX in
    /*) ;;
    *) die "--prefix $PREFIX: an absolute path" ;;
esac
PREFIX=${PREFIX%/}
[ -n "$BUNDLE" ] || die "give the $WHAT folder ($BUILD)"
[ -d "$BUNDLE" ] || die "$WHAT $BUNDLE: no such folder (build it with \`$MAKE\`)"
is_wheelhouse() { [ -f "$1/requirements.txt" ] && [ -d "$1/wheels" ] && [ -f "$1/VERSION" ]; }
if [ "$ROLE" = booth ]; then
    ! is_wheelhouse "$BUNDLE" \
        || die "$BUNDLE is the hub's wheelhouse: the booth role installs the booth bundle ($BUILD)"
    [ -f "$BUNDLE/poh" ] && [ -x "$BUNDLE/poh" ] \
        || die "bundle $BUNDLE: no executable poh in it (give the folder $BUILD)"
else
    ! [ -x "$BUNDLE/poh" ] \
        || die "$BUNDLE is a booth bundle (no hub in it): the hub role installs the wheelhouse $BUILD"
    is_wheelhouse "$BUNDLE" \
        || die "wheelhouse $BUNDLE: no wheels/, requirements.txt and VERSION in it (give the folder $BUILD)"
fi
BUNDLE=$(CDPATH='' cd -- "$BUNDLE" && pwd)
if [ -n "$ROOT" ]; then
    [ -d "$ROOT" ] || die "--root $ROOT: no such folder"
    ROOT=$(CDPATH='' cd -- "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=
fi
[ "$BUNDLE" != "$ROOT$PREFIX" ] || die "the bundle is the prefix itself ($PREFIX)"

# The bundle must run on this machine; the hub's wheels need a Python 3.11 with venv (its
# wheels are built for cp311), the interpreter itself, not a venv's or a version manager's shim.
if [ "$ROLE" = booth ]; then
    "$BUNDLE/poh" --version >/dev/null 2>&1 \
        || die "bundle $BUNDLE: \`poh --version\` fails here (a bundle built for another system?)"
else
    command -v "$PYTHON" >/dev/null 2>&1 \
        || die "$PYTHON not found: the hub needs the host's Python 3.11 (Debian: apt-get install python3.11 python3.11-venv; or --python PATH)"
    BASE_PY=$("$PYTHON" -c 'import sys; print(sys._base_executable if sys.version_info[:2] == (3, 11) else "")' 2>/dev/null) || BASE_PY=
    [ -n "$BASE_PY" ] \
        || die "$PYTHON is not Python 3.11 ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo not a Python)): the hub's wheels are for 3.11 (--python PATH)"
    "$BASE_PY" -c 'import ensurepip, venv' >/dev/null 2>&1 \
        || die "$BASE_PY has no venv module (Debian: apt-get install python3.11-venv)"
fi

IS_ROOT=no
[ "$(id -u)" -ne 0 ] || IS_ROOT=yes
if [ -z "$ROOT" ] && [ "$IS_ROOT" = no ]; then
    die "run as root (or with --root DIR to install into a folder)"
fi
command -v systemd-sysusers >/dev/null 2>&1 || die "systemd-sysusers not found (a systemd system is needed)"

# ---- helpers --------------------------------------------------------------------------------
# ids as the target system knows them (under --root, its own /etc/passwd, not this machine's)
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$ROOT/etc/passwd" 2>/dev/null || true; }
gid_of() { awk -F: -v u="$1" '$1 == u { print $4 }' "$ROOT/etc/passwd" 2>/dev/null || true; }
# in_group USER GROUP: USER is a listed member of GROUP in the target's /etc/group
in_group() {
    awk -F: -v u="$1" -v g="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++)
        if (m[i] == u) found = 1 } END { exit !found }' "$ROOT/etc/group" 2>/dev/null
}

# folder PATH MODE OWNER: make it (and its parents, root's 0755), set mode and owner again
folder() {
    mkdir -p "$ROOT$1"
    chmod "$2" "$ROOT$1"
    if [ "$IS_ROOT" = yes ]; then
        chown "$(uid_of "$3"):$(gid_of "$3")" "$ROOT$1"
    fi
}

# put SRC DEST MODE: install a file of ours, written only when its content differs
put() {
    mkdir -p "$(dirname -- "$ROOT$2")"
    if ! cmp -s "$1" "$ROOT$2" 2>/dev/null; then
        cp "$1" "$ROOT$2.tmp.$$"
        mv -f "$ROOT$2.tmp.$$" "$ROOT$2"
        say "installed $2"
    fi
    chmod "$3" "$ROOT$2"
    if [ "$IS_ROOT" = yes ]; then chown 0:0 "$ROOT$2"; fi
}

# once SRC DEST MODE OWNER: a configuration file written only if there is none
once() {
    if [ -e "$ROOT$2" ] || [ -L "$ROOT$2" ]; then
        return 0
    fi
    cp "$1" "$ROOT$2.tmp.$$"
    chmod "$3" "$ROOT$2.tmp.$$"
    if [ "$IS_ROOT" = yes ]; then
        chown "$(uid_of "$4"):$(gid_of "$4")" "$ROOT$2.tmp.$$"
    fi
    mv "$ROOT$2.tmp.$$" "$ROOT$2"
    say "wrote $2 (yours to edit from now on)"
}

# unit NAME: the unit file with the prefix it was installed to
unit() {
    sed "s#$DEFAULT_PREFIX#$PREFIX#g" "$UNITS/$1" > "$WORK/$1"
    put "$WORK/$1" "/etc/systemd/system/$1" 0644
}

# first_error LOG: pip's first ERROR line, else the log's last line (for a one-line refusal)
first_error() {
    grep -m 1 '^ERROR' "$1" || grep -v '^ *$' "$1" | tail -n 1
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- the bundle -----------------------------------------------------------------------------
if [ "$ROLE" = hub ]; then
    # The venv is named after the wheelhouse (the hash of its requirements.txt, which names
    # every wheel by its hash); `venv` is a link to it. The same wheelhouse again: nothing is
    # touched. Another one: a new venv is made beside the old one, installed offline from the
    # wheels alone (--isolated: no pip configuration or variable of this host adds an index),
    # checked, then the link is swapped in one rename, so a failed or interrupted install leaves
    # the running hub's venv as it was. The venv the link named before is kept (a hub not yet
    # restarted still imports from it, and it is the way back: ln -sfn venv-OLD venv); older
    # ones are removed.
    ID=$(sha256sum "$BUNDLE/requirements.txt" | cut -c1-16)
    VENV=venv-$ID
    if [ "$(readlink "$ROOT$PREFIX/venv" 2>/dev/null)" = "$VENV" ] \
        && cmp -s "$BUNDLE/VERSION" "$ROOT$PREFIX/$VENV/poh-wheelhouse.VERSION"; then
        say "$PREFIX/venv already holds this wheelhouse ($(cat "$BUNDLE/VERSION"))"
    else
        mkdir -p "$ROOT$PREFIX"
        rm -rf "$ROOT$PREFIX/$VENV"  # what an interrupted run left
        say "making $PREFIX/$VENV with $BASE_PY, installing the wheelhouse offline"
        "$BASE_PY" -m venv "$ROOT$PREFIX/$VENV" >"$WORK/venv.log" 2>&1 \
            || { rm -rf "$ROOT$PREFIX/$VENV"; die "$BASE_PY -m venv failed: $(tail -n 1 "$WORK/venv.log")"; }
        if ! "$ROOT$PREFIX/$VENV/bin/python" -m pip --isolated install --quiet --no-index \
            --no-cache-dir --disable-pip-version-check --find-links "$BUNDLE/wheels" \
            --require-hashes -r "$BUNDLE/requirements.txt" >"$WORK/pip.log" 2>&1 \
            || ! "$ROOT$PREFIX/$VENV/bin/python" -m pip --isolated check >>"$WORK/pip.log" 2>&1 \
            || ! env HOME="$WORK" XDG_CACHE_HOME="$WORK" PYTHONDONTWRITEBYTECODE=1 \
                "$ROOT$PREFIX/$VENV/bin/poh" hub --help >>"$WORK/pip.log" 2>&1; then
            rm -rf "$ROOT$PREFIX/$VENV"
            die "the wheelhouse did not install (pip, pip check or \`poh hub --help\`): $(first_error "$WORK/pip.log")"
        fi
        cp "$BUNDLE/VERSION" "$ROOT$PREFIX/$VENV/poh-wheelhouse.VERSION"
        cp "$BUNDLE/requirements.txt" "$ROOT$PREFIX/$VENV/poh-wheelhouse.requirements.txt"
        PREVIOUS=$(readlink "$ROOT$PREFIX/venv" 2>/dev/null || true)
        ln -s "$VENV" "$ROOT$PREFIX/venv.new.$$"
        mv -T "$ROOT$PREFIX/venv.new.$$" "$ROOT$PREFIX/venv"
        for old in "$ROOT$PREFIX"/venv-*; do
            case ${old##*/} in
                "$VENV"|"$PREVIOUS") ;;
                *) rm -rf "$old" ;;
            esac
        done
        say "installed the hub in $PREFIX/venv ($(cat "$BUNDLE/VERSION"))"
        [ -z "$PREVIOUS" ] || say "kept the previous $PREFIX/$PREVIOUS; a running hub goes on with it until \`systemctl restart poh-hub\`"
    fi
elif [ -d "$ROOT$PREFIX" ] && diff -r -q "$BUNDLE" "$ROOT$PREFIX" >/dev/null 2>&1; then
    say "$PREFIX already holds this bundle"
else
    mkdir -p "$(dirname -- "$ROOT$PREFIX")"
    rm -rf "$ROOT$PREFIX.new" "$ROOT$PREFIX.old"
    cp -R "$BUNDLE" "$ROOT$PREFIX.new"
    # the new bundle replaces the old one in two renames: a crash leaves one or the other
    if [ -d "$ROOT$PREFIX" ]; then mv "$ROOT$PREFIX" "$ROOT$PREFIX.old"; fi
    mv "$ROOT$PREFIX.new" "$ROOT$PREFIX"
    rm -rf "$ROOT$PREFIX.old"
    say "installed the bundle in $PREFIX"
fi
# the service users read and run it, never write it
chmod -R u+rwX,go+rX,go-w "$ROOT$PREFIX"
if [ "$IS_ROOT" = yes ]; then chown -R 0:0 "$ROOT$PREFIX"; fi

# ---- the user -------------------------------------------------------------------------------
put "$UNITS/$NAME.sysusers" "/usr/lib/sysusers.d/$NAME.conf" 0644
# sysusers itself makes nothing twice; it is skipped when there is nothing to make, because
# it opens /etc/gshadow (mode 0) even then, which only root may do
if [ -z "$(uid_of "$USER_NAME")" ] || { [ "$ROLE" = booth ] && ! in_group "$USER_NAME" video; }
then
    if [ -n "$ROOT" ]; then
        mkdir -p "$ROOT/etc"
        systemd-sysusers --root="$ROOT" "$ROOT/usr/lib/sysusers.d/$NAME.conf" >/dev/null
    else
        systemd-sysusers "/usr/lib/sysusers.d/$NAME.conf" >/dev/null
    fi
fi
[ -n "$(uid_of "$USER_NAME")" ] || die "systemd-sysusers did not create the user $USER_NAME"

# ---- folders, configuration, units ----------------------------------------------------------
# The configuration folder belongs to the service user (0750): the commands that change the
# configuration (`poh operator set-pin`, `poh fleet join`) run as that user, and a file root
# wrote would be root's 0600 and unreadable to the service.
folder "/etc/$NAME" 0750 "$USER_NAME"
folder "/var/lib/$NAME" 0700 "$USER_NAME"
folder "/var/cache/$NAME" 0700 "$USER_NAME"

if [ "$ROLE" = booth ]; then
    cat > "$WORK/kiosk.env" <<'EOF'
# poh-kiosk.service: the arguments of `poh kiosk` (README: Running as a service), e.g.
#   POH_KIOSK_ARGS=--camera /dev/video0 --lang en --workflow /etc/poh-kiosk/flashing.json
POH_KIOSK_ARGS=--camera /dev/video0 --lang id
EOF
    once "$WORK/kiosk.env" /etc/poh-kiosk/kiosk.env 0640 "$USER_NAME"
    put "$UNITS/poh-kiosk.pam" /etc/pam.d/poh-kiosk 0644
    unit poh-kiosk.service
    unit poh-sync.service
    ADMIN=poh-booth
    ENV_LINE="STATE_DIRECTORY=/var/lib/poh-kiosk CACHE_DIRECTORY=/var/cache/poh-kiosk CONFIGURATION_DIRECTORY=/etc/poh-kiosk XDG_CACHE_HOME=/var/cache/poh-kiosk/xdg"
    RUN="\"$PREFIX/poh\" \"\$@\""
    COMMAND=poh
    SERVICES=poh-kiosk.service
else
    folder /etc/poh-hub/hub 0750 "$USER_NAME"
    cat > "$WORK/hub.env" <<'EOF'
# poh-hub.service (README: Running as a service). The broker of the fleet (mqtts://HOST:PORT);
# the database (SQLite in /var/lib/poh-hub, the unit's working folder, or
# postgresql+psycopg://user@host/db); where the HTTP API, /health and /metrics listen;
# more `poh hub run` options (--fleet ID, --workers N, --client-id P, --webhook-retry-max S).
POH_HUB_BROKER=mqtts://127.0.0.1:8883
POH_HUB_DB=sqlite:///hub.db
POH_HUB_HTTP=127.0.0.1:8080
POH_HUB_ARGS=
EOF
    once "$WORK/hub.env" /etc/poh-hub/hub.env 0640 "$USER_NAME"
    unit poh-hub.service
    ADMIN=poh-hub
    ENV_LINE="STATE_DIRECTORY=/var/lib/poh-hub CACHE_DIRECTORY=/var/cache/poh-hub CONFIGURATION_DIRECTORY=/etc/poh-hub"
    RUN="\"$PREFIX/venv/bin/poh\" hub \"\$@\""
    COMMAND="poh hub"
    SERVICES=poh-hub.service
fi

# the operator's command: poh as the service user, with the folders the unit has
cat > "$WORK/$ADMIN" <<EOF
#!/bin/sh
# $ADMIN ARGS...: \`$COMMAND ARGS...\` as the service user $USER_NAME, with the folders its
# unit has (installed by packaging/install.sh; run it as root or as $USER_NAME)
set -eu
cd /var/lib/$NAME
if [ "\$(id -un)" = $USER_NAME ]; then
    exec env $ENV_LINE $RUN
fi
[ "\$(id -u)" -eq 0 ] || { echo "$ADMIN: run as root (sudo $ADMIN ...)" >&2; exit 2; }
exec setpriv --reuid=$USER_NAME --regid=$USER_NAME --init-groups --reset-env \\
    env $ENV_LINE $RUN
EOF
put "$WORK/$ADMIN" "/usr/local/bin/$ADMIN" 0755

# ---- systemd --------------------------------------------------------------------------------
if [ -n "$ROOT" ]; then
    say "installed into $ROOT (no systemctl under --root)"
    exit 0
fi
systemctl daemon-reload
if [ "$ENABLE" = yes ]; then
    systemctl enable $SERVICES
    if [ "$ROLE" = booth ] && [ "$(systemctl get-default)" != graphical.target ]; then
        say "the default target is $(systemctl get-default): the kiosk starts at boot only with \`systemctl set-default graphical.target\`"
    fi
fi
say "done: \`systemctl start $SERVICES\`, logs: \`journalctl -u $SERVICES -f\`"
