# envcheck in a container: `docker run --rm IMAGE snapshot -o -`.
#
# Every third-party file is hash-checked: the runtime dependencies come from
# lockfiles/requirements.txt and the build tools (pip, setuptools) from
# lockfiles/build-requirements.txt, both `pip install --require-hashes --no-deps`.
# envcheck itself is built from this context and installed with --no-deps.
#
# Two ways to build, one Dockerfile:
#
#   online   docker build -t envcheck .
#            The build stage downloads the locked wheels from PyPI with the base
#            image's own pip (`pip download --require-hashes`).
#
#   offline  docker build -t envcheck --build-arg BASE_IMAGE=my/python-without-pip .
#            with a `wheelhouse/` folder in the context, made on a machine with
#            PyPI access, for the target's Python and platform:
#              python3 image/wheelhouse.py 3.11 wheelhouse --glibc 2.36  # Debian 12
#              python3 image/wheelhouse.py 3.9 wheelhouse --glibc 2.31   # Debian 11
#            (with a Python that has `packaging`, envcheck's own environment say;
#            it resolves the locks' markers for the TARGET Python first, since
#            `pip download --python-version` evaluates them for the host,
#            pypa/pip#11010, then `pip download --require-hashes` of those pins).
#            Nothing is then fetched: the build stage installs with --no-index
#            from that folder, and where the base has no pip (a bare
#            `python3`), pip runs straight from its wheel, which Python can
#            import from, after image/verify-wheel.py (standard library only)
#            has checked that wheel's sha256 against the lock: nothing runs
#            unchecked.
#
# Only a base with `python3` on PATH (3.9 or newer) and a POSIX shell is
# assumed; Debian's python3 without python3-distutils works (pip is told to
# use sysconfig). The build stage (wheelhouse, setuptools, pip, the sources) is
# discarded: the final image is the base plus one virtualenv without pip. With
# the legacy builder that stage stays behind as an untagged image: remove it with
#   docker image prune -f --filter label=org.opencontainers.image.ref.name=envcheck-build
# Works with the legacy builder and BuildKit alike (no RUN --mount, no
# `# syntax` line, which would need to pull a frontend image).
#
# Reproducible: SOURCE_DATE_EPOCH fixes the timestamps in envcheck's wheel, so
# two builds of one commit on one base give the same fingerprint id.
#
# In the image, `envcheck snapshot` fingerprints the base's own interpreter
# (ENVCHECK_PYTHON=base), not envcheck's virtualenv: built FROM a training
# image, it lists that image's packages and frameworks.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
LABEL org.opencontainers.image.ref.name=envcheck-build
ARG SOURCE_DATE_EPOCH=1704067200
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}
WORKDIR /src
# .dockerignore admits only what the build needs (sources, lockfiles, wheelhouse).
COPY . /src
RUN set -eu; \
    if [ ! -d wheelhouse ]; then \
        python3 -m pip --version >/dev/null 2>&1 || { \
            echo "the base image has no pip: add a wheelhouse/ (see the top of the Dockerfile)" >&2; \
            exit 1; }; \
        python3 -m pip download --require-hashes --no-deps --only-binary=:all: -d wheelhouse \
            -r lockfiles/requirements.txt -r lockfiles/build-requirements.txt; \
    fi; \
    set -- wheelhouse/pip-*.whl; \
    [ -f "$1" ] && [ "$#" -eq 1 ] || { \
        echo "wheelhouse/ needs exactly one pip wheel (see the top of the Dockerfile)" >&2; exit 1; }; \
    python3 -I image/verify-wheel.py lockfiles/build-requirements.txt "$1"; \
    wheel="/src/$1"; \
    # pip from its verified wheel; sysconfig, not distutils, for its paths (pip on 3.9
    # would import distutils, which Debian ships apart as python3-distutils).
    pip() { py="$1"; shift; "$py" -I -c 'import runpy, sys, sysconfig; \
sysconfig._PIP_USE_SYSCONFIG = True; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = "pip"; \
runpy.run_module("pip", run_name="__main__", alter_sys=True)' "$wheel" "$@"; }; \
    offline="--no-index --find-links /src/wheelhouse"; \
    # Build tools in a throwaway venv, so setuptools never reaches the image.
    python3 -m venv --without-pip /opt/build; \
    pip /opt/build/bin/python install $offline --require-hashes --no-deps \
        -r lockfiles/build-requirements.txt; \
    pip /opt/build/bin/python wheel $offline --no-build-isolation --no-deps -w /tmp/dist .; \
    # The runtime venv: locked dependencies, then envcheck; pip itself stays out.
    python3 -m venv --without-pip /opt/envcheck; \
    pip /opt/envcheck/bin/python install $offline --require-hashes --no-deps \
        -r lockfiles/requirements.txt; \
    pip /opt/envcheck/bin/python install --no-index --no-deps /tmp/dist/envcheck-*.whl; \
    /opt/envcheck/bin/envcheck --version

FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title=envcheck \
      org.opencontainers.image.description="Fingerprint ML training environments and judge their differences" \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION} \
      org.opencontainers.image.licenses=Apache-2.0
# The venv's python is a symlink to the base's python3, identical in both stages.
COPY --from=build /opt/envcheck /opt/envcheck
# A fixed uid, so that files written to a mounted folder have a known owner.
RUN if command -v useradd >/dev/null 2>&1; then \
        groupadd --gid 10001 envcheck && \
        useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin envcheck; \
    else \
        echo 'envcheck:x:10001:10001::/nonexistent:/sbin/nologin' >>/etc/passwd; \
        echo 'envcheck:x:10001:' >>/etc/group; \
    fi
# ENVCHECK_PYTHON=base: the interpreter to fingerprint is the base's, that the venv
# was made from. The history lives in the container's /tmp: there is no home.
ENV PATH=/opt/envcheck/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ENVCHECK_PYTHON=base ENVCHECK_HOME=/tmp/envcheck
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["envcheck"]
CMD ["snapshot"]
