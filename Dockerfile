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
#            PyPI access for the target's Python and platform:
#              pip download --require-hashes --no-deps --only-binary=:all: -d wheelhouse \
#                --python-version 3.11 --implementation cp --abi cp311 \
#                --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
#                -r lockfiles/requirements.txt -r lockfiles/build-requirements.txt
#            Nothing is then fetched: the build stage installs with --no-index
#            from that folder, and where the base has no pip (a bare
#            `python3`), pip runs straight from its wheel, which Python can
#            import from: `python3 wheelhouse/pip-*.whl/pip install ...`.
#
# Only a base with `python3` on PATH (3.9 or newer) and a POSIX shell is
# assumed. The build stage (wheelhouse, setuptools, pip, the sources) is
# discarded: the final image is the base plus one virtualenv without pip.
# Works with the legacy builder and BuildKit alike (no RUN --mount, no
# `# syntax` line, which would need to pull a frontend image).

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
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
    [ -f "$1" ] || { echo "no pip wheel in wheelhouse/ (see the top of the Dockerfile)" >&2; exit 1; }; \
    pip="$1/pip"; \
    offline="--no-index --find-links /src/wheelhouse"; \
    # Build tools in a throwaway venv, so setuptools never reaches the image.
    python3 -m venv --without-pip /opt/build; \
    /opt/build/bin/python "$pip" install $offline --require-hashes --no-deps \
        -r lockfiles/build-requirements.txt; \
    /opt/build/bin/python -m pip wheel $offline --no-build-isolation --no-deps -w /tmp/dist .; \
    # The runtime venv: locked dependencies, then envcheck; pip itself stays out.
    python3 -m venv --without-pip /opt/envcheck; \
    /opt/envcheck/bin/python "$pip" install $offline --require-hashes --no-deps \
        -r lockfiles/requirements.txt; \
    /opt/envcheck/bin/python "$pip" install --no-index --no-deps /tmp/dist/envcheck-*.whl; \
    /opt/envcheck/bin/envcheck --version

FROM ${BASE_IMAGE}
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
ENV PATH=/opt/envcheck/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["envcheck"]
CMD ["snapshot"]
