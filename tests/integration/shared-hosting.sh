#!/bin/bash
# Shared hosting: a user with a home directory, a public_html served by
# Apache with .htaccess allowed and CGI, and no root.  As that user (the
# unprivileged www-data here): configure --prefix under the home directory,
# make, make install with the pages and programs below public_html and the
# database outside it, make install-htaccess.  Then a job runs end to end
# through the host's Apache, the .htaccess files are not served, and a state
# directory placed below the web root refuses every request.
#
# The user builds from a source tree of their own, as they would from a
# download (make distdir): the tree this suite runs from may be closed to
# them (a clone in root's home, mode 700).
LJ_FRONTEND=apache-cgi
. "$(dirname "$0")/lib.sh"
command -v apache2 >/dev/null || lj_skip "Apache is not installed (apt-get install apache2)"
home=$LJ_TMP/home/alice
pub=$home/public_html
mkdir -p "$home/build" "$pub"
(cd "$top_builddir" && make -s distdir distdir="$home/src") >"$LJ_TMP/distdir.log" 2>&1 ||
	lj_die "make distdir failed: $(tail -5 "$LJ_TMP/distdir.log")"
chown -R "$LJ_AS" "$home"

# The user's install, exactly as the README gives it.
lj_as sh -c "cd '$home/build' && '$home/src/configure' -q --prefix='$home/longjob' &&
	make -s -j2 && make -s install wwwdir='$pub/jobs' cgibindir='$pub/jobs/longjob' \
	urlprefix=/~alice/jobs && make -s install-htaccess cgibindir='$pub/jobs/longjob'" \
	>"$LJ_TMP/install.log" 2>&1
lj_check $? "configure, make, make install and make install-htaccess as the user, without root"
[ $? -eq 0 ] || tail -20 "$LJ_TMP/install.log" | sed 's/^/# /'
[ "$(stat -c %U "$pub/jobs/longjob/progress")" = "$LJ_AS" ]
lj_check $? "the programs belong to the user"
[ -f "$pub/jobs/longjob/.htaccess" ] && [ -f "$pub/jobs/job.html" ]
lj_check $? "pages and programs are below public_html, with the .htaccess"
case "$home/longjob/var/lib/longjob" in "$pub"/*) lj_check 1 "the database is outside public_html" ;;
	*) lj_check 0 "the database is outside public_html" ;; esac

# The host's Apache: userdir-style public_html with .htaccess and CGI allowed.
cat >"$LJ_TMP/host.conf" <<APACHE
Alias "/~alice/" "$pub/"
<Directory "$pub">
    AllowOverride Options FileInfo AuthConfig Limit
    Options SymLinksIfOwnerMatch
    Require all granted
</Directory>
APACHE
LJ_APACHE_SITE=$LJ_TMP/host.conf
LJ_PREFIX=/~alice/jobs
LJ_CONFIG=$home/longjob/etc/longjob/longjob.json
lj_launch

lj_is "$(lj_status "$LJ_URL/job.html")" 200 "the job page is served from public_html"
id=$(lj_submit render -d seconds=1 -d width=32 -d height=24)
lj_check $? "a job submitted through the user's CGI programs ($id)"
lj_stream "$id" "$LJ_TMP/s"
tail -1 "$LJ_TMP/s/0.events" | grep -q '"state":"succeeded"'
lj_check $? "it streamed to success"
curl -s -m 10 -o "$LJ_TMP/i.png" "$LJ_URL/longjob/result/$id/image.png"
lj_is "$(od -An -tu1 -j16 -N8 "$LJ_TMP/i.png" | awk '{print $3*256+$4 "x" $7*256+$8}')" 32x24 \
	"the image is served"
lj_is "$(lj_status "$LJ_URL/longjob/.htaccess")" 403 "the .htaccess is not served"

# If the state must live below the web root, its .htaccess refuses everything.
lj_as sh -c "cd '$home/build' && make -s install-data-local statedir='$pub/state'" >/dev/null 2>&1
lj_as sh -c "echo secret >'$pub/state/longjob.db'"
lj_is "$(lj_status "$LJ_ROOT/~alice/state/longjob.db")" 403 "a state directory below the web root is refused"
lj_done
