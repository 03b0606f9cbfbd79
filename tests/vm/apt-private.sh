# Sourced by kernel-fetch.sh and rootfs-fetch.sh: apt for a Debian suite
# and architecture other than the machine's, through a sources list and
# apt state of our own under the cache, so the machine's apt sources and
# its dpkg database are never touched. Sets apt_opts (an array) for
# apt-get/apt-cache; apt_private SUITE DEBARCH CACHE.
apt_private() {
        local suite=$1 debarch=$2 dir="$3/apt/$1-$2"
        local key=/usr/share/keyrings/debian-archive-keyring.gpg
        mkdir -p "$dir/lists/partial" "$dir/archives/partial"
        {
                printf 'deb [arch=%s signed-by=%s] http://deb.debian.org/debian %s main\n' "$debarch" "$key" "$suite"
                printf 'deb [arch=%s signed-by=%s] http://deb.debian.org/debian-security %s-security main\n' \
                        "$debarch" "$key" "$suite"
        } >"$dir/sources.list"
        # the status file: an empty one, so apt resolves every dependency
        : >"$dir/status"
        apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
                -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir" -o "Dir::Cache::archives=$dir/archives"
                -o "Dir::State::status=$dir/status" -o "APT::Architecture=$debarch" -o "APT::Architectures::=$debarch")
}
