/*
 * fake_nvml.c - a stand-in for libnvidia-ml.so.1 used by envcheck's tests.
 *
 * It exports the subset of the NVML C API that envcheck's probe reads, with
 * the ABI that nvidia-ml-py (pynvml) expects, so the real bindings and
 * envcheck's ctypes fallback can both be exercised on machines without a GPU.
 *
 * Behaviour is driven by environment variables, read on every call:
 *   FAKE_NVML_DRIVER      driver version string      (default "550.54.15")
 *   FAKE_NVML_CUDA        CUDA driver version as int (default 12040)
 *   FAKE_NVML_GPUS        ';'-separated GPUs, each
 *                         "name|major.minor|memory_MiB|sm_count|uuid|busid"
 *                         (unset: two A100-SXM4-80GB; empty: no GPUs)
 *   FAKE_NVML_HANG=1      nvmlInit* sleeps for an hour (a hung driver)
 *   FAKE_NVML_INIT_ERROR  nvmlInit* returns this nvmlReturn_t code
 *
 * Fixed facts: MIG disabled, ECC enabled, persistence mode enabled, power
 * limit 400000 mW, 4 MiB of memory in use.
 *
 * Build: gcc -shared -fPIC -O1 -o libnvidia-ml.so.1 fake_nvml.c -lpthread
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r, sleep */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- NVML types and constants (values as in nvml.h / pynvml) ---------- */

typedef int nvmlReturn_t;
typedef unsigned int nvmlEnableState_t;
typedef unsigned int nvmlDeviceArchitecture_t;
typedef struct fake_device *nvmlDevice_t; /* opaque handle */

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
};

enum {
    NVML_DEVICE_ARCH_KEPLER = 2,
    NVML_DEVICE_ARCH_MAXWELL = 3,
    NVML_DEVICE_ARCH_PASCAL = 4,
    NVML_DEVICE_ARCH_VOLTA = 5,
    NVML_DEVICE_ARCH_TURING = 6,
    NVML_DEVICE_ARCH_AMPERE = 7,
    NVML_DEVICE_ARCH_ADA = 8,
    NVML_DEVICE_ARCH_HOPPER = 9,
    NVML_DEVICE_ARCH_BLACKWELL = 10,
};
#define NVML_DEVICE_ARCH_UNKNOWN 0xffffffffu

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16

typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

/* nvmlPciInfo_t as returned by nvmlDeviceGetPciInfo_v3. */
typedef struct {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct {
    unsigned int multiprocessorCount;
    unsigned int sharedCopyEngineCount;
    unsigned int sharedDecoderCount;
    unsigned int sharedEncoderCount;
    unsigned int sharedJpegCount;
    unsigned int sharedOfaCount;
    unsigned int gpuInstanceSliceCount;
    unsigned int computeInstanceSliceCount;
    unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

/* ---- Fake state ------------------------------------------------------- */

#define MAX_GPUS 64
#define POWER_LIMIT_MW 400000u
#define USED_BYTES (4ull << 20)

#define DEFAULT_DRIVER "550.54.15"
#define DEFAULT_CUDA 12040
#define DEFAULT_GPUS                                                       \
    "NVIDIA A100-SXM4-80GB|8.0|81920|108|"                                 \
    "GPU-11111111-2222-3333-4444-555555555555|00000000:07:00.0;"           \
    "NVIDIA A100-SXM4-80GB|8.0|81920|108|"                                 \
    "GPU-66666666-7777-8888-9999-000000000000|00000000:0F:00.0"

struct fake_device {
    char name[96];
    int major, minor;
    unsigned long long memory_mib;
    unsigned int sm_count;
    char uuid[96];
    char busid[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
};

/* Handles are addresses of these slots; only their identity is used. */
static struct fake_device handle_slots[MAX_GPUS];

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

static int is_initialized(void)
{
    int n;
    pthread_mutex_lock(&init_lock);
    n = init_count;
    pthread_mutex_unlock(&init_lock);
    return n > 0;
}

/* Copy src into dst (size n), always NUL-terminating. */
static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

/* Parse one "name|cc|mem|sm|uuid|busid" entry (modified in place). */
static void parse_gpu(char *entry, int index, struct fake_device *out)
{
    char *field[6] = {0};
    int i;

    for (i = 0; i < 6 && entry; i++) {
        char *bar = strchr(entry, '|');
        field[i] = entry;
        if (bar)
            *bar = '\0';
        entry = bar ? bar + 1 : NULL;
    }

    memset(out, 0, sizeof(*out));
    copy_str(out->name, sizeof(out->name),
             field[0] && *field[0] ? field[0] : "NVIDIA Fake GPU");
    out->major = 8;
    out->minor = 0;
    if (field[1])
        sscanf(field[1], "%d.%d", &out->major, &out->minor);
    out->memory_mib = field[2] ? strtoull(field[2], NULL, 10) : 0;
    out->sm_count = field[3] ? (unsigned int)strtoul(field[3], NULL, 10) : 0;
    if (field[4] && *field[4])
        copy_str(out->uuid, sizeof(out->uuid), field[4]);
    else
        snprintf(out->uuid, sizeof(out->uuid),
                 "GPU-00000000-0000-0000-0000-%012d", index);
    if (field[5] && *field[5])
        copy_str(out->busid, sizeof(out->busid), field[5]);
    else
        snprintf(out->busid, sizeof(out->busid), "00000000:%02X:00.0",
                 (unsigned int)(index + 1) & 0xffu);
}

/* Parse FAKE_NVML_GPUS into gpus[]; returns the number of GPUs. */
static unsigned int load_gpus(struct fake_device gpus[MAX_GPUS])
{
    const char *env = getenv("FAKE_NVML_GPUS");
    char buf[16384];
    char *save = NULL, *entry;
    unsigned int n = 0;

    copy_str(buf, sizeof(buf), env ? env : DEFAULT_GPUS);
    for (entry = strtok_r(buf, ";", &save); entry && n < MAX_GPUS;
         entry = strtok_r(NULL, ";", &save)) {
        parse_gpu(entry, (int)n, &gpus[n]);
        n++;
    }
    return n;
}

/*
 * Resolve a handle to the current description of its GPU.
 * Returns NVML_SUCCESS and fills *out, or an error code.
 */
static nvmlReturn_t lookup(nvmlDevice_t device, struct fake_device *out)
{
    struct fake_device gpus[MAX_GPUS];
    uintptr_t offset = (uintptr_t)device - (uintptr_t)handle_slots;
    uintptr_t index = offset / sizeof(handle_slots[0]);

    if (!is_initialized())
        return NVML_ERROR_UNINITIALIZED;
    /* Reject NULL, foreign pointers and handles of GPUs no longer listed. */
    if (!device || offset % sizeof(handle_slots[0]) != 0 || index >= MAX_GPUS
        || index >= load_gpus(gpus))
        return NVML_ERROR_INVALID_ARGUMENT;
    *out = gpus[index];
    return NVML_SUCCESS;
}

/* Write a string result into a caller buffer of the given length. */
static nvmlReturn_t put_string(char *dst, unsigned int length, const char *src)
{
    if (!dst)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > length)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    copy_str(dst, length, src);
    return NVML_SUCCESS;
}

static const char *driver_version(void)
{
    const char *env = getenv("FAKE_NVML_DRIVER");
    return env ? env : DEFAULT_DRIVER;
}

static int cuda_version(void)
{
    const char *env = getenv("FAKE_NVML_CUDA");
    return env ? atoi(env) : DEFAULT_CUDA;
}

/* ---- Initialisation ---------------------------------------------------- */

nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    const char *hang = getenv("FAKE_NVML_HANG");
    const char *err = getenv("FAKE_NVML_INIT_ERROR");
    (void)flags;

    if (hang && strcmp(hang, "1") == 0)
        sleep(3600);
    if (err && atoi(err) != NVML_SUCCESS)
        return (nvmlReturn_t)atoi(err);

    pthread_mutex_lock(&init_lock);
    init_count++;
    pthread_mutex_unlock(&init_lock);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
nvmlReturn_t nvmlInit(void) { return nvmlInitWithFlags(0); }

nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t ret = NVML_SUCCESS;
    pthread_mutex_lock(&init_lock);
    if (init_count > 0)
        init_count--;
    else
        ret = NVML_ERROR_UNINITIALIZED;
    pthread_mutex_unlock(&init_lock);
    return ret;
}

/* Texts as libnvidia-ml gives them (and as pynvml's own table has them). */
const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 5: return "Already Initialized";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 8: return "Insufficient External Power";
    case 9: return "Driver Not Loaded";
    case 10: return "Timeout";
    case 11: return "Interrupt Request Issue";
    case 12: return "NVML Shared Library Not Found";
    case 13: return "Function Not Found";
    case 14: return "Corrupted infoROM";
    case 15: return "GPU is lost";
    case 16: return "GPU requires restart";
    case 17: return "The operating system has blocked the request.";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    case 19: return "In use by another client";
    case 20: return "Insufficient Memory";
    case 21: return "No data";
    default: return "Unknown Error";
    }
}

/* ---- System queries ---------------------------------------------------- */

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    if (!is_initialized())
        return NVML_ERROR_UNINITIALIZED;
    return put_string(version, length, driver_version());
}

/* The NVML version is "<CUDA major>.<driver version>", e.g. "12.550.54.15". */
nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%d.%s", cuda_version() / 1000, driver_version());
    return put_string(version, length, buf);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    if (!cudaDriverVersion)
        return NVML_ERROR_INVALID_ARGUMENT;
    *cudaDriverVersion = cuda_version();
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    return nvmlSystemGetCudaDriverVersion_v2(cudaDriverVersion);
}

/* ---- Device enumeration ----------------------------------------------- */

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    struct fake_device gpus[MAX_GPUS];
    if (!is_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (!deviceCount)
        return NVML_ERROR_INVALID_ARGUMENT;
    *deviceCount = load_gpus(gpus);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return nvmlDeviceGetCount_v2(deviceCount);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    struct fake_device gpus[MAX_GPUS];
    if (!is_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= load_gpus(gpus))
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &handle_slots[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

/* ---- Per-device queries ------------------------------------------------ */

/* Declares `gpu`, resolves `device` into it, and returns on failure. */
#define LOOKUP_OR_RETURN(device)                                           \
    struct fake_device gpu;                                                \
    nvmlReturn_t lookup_ret = lookup((device), &gpu);                      \
    if (lookup_ret != NVML_SUCCESS)                                        \
        return lookup_ret

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    LOOKUP_OR_RETURN(device);
    return put_string(name, length, gpu.name);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    LOOKUP_OR_RETURN(device);
    return put_string(uuid, length, gpu.uuid);
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    LOOKUP_OR_RETURN(device);
    if (!major || !minor)
        return NVML_ERROR_INVALID_ARGUMENT;
    *major = gpu.major;
    *minor = gpu.minor;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    LOOKUP_OR_RETURN(device);
    if (!memory)
        return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = gpu.memory_mib << 20;
    memory->used = memory->total >= USED_BYTES ? USED_BYTES : 0;
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes)
{
    LOOKUP_OR_RETURN(device);
    if (!attributes)
        return NVML_ERROR_INVALID_ARGUMENT;
    memset(attributes, 0, sizeof(*attributes));
    attributes->multiprocessorCount = gpu.sm_count;
    attributes->memorySizeMB = gpu.memory_mib;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes)
{
    return nvmlDeviceGetAttributes_v2(device, attributes);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                  unsigned int *pendingMode)
{
    LOOKUP_OR_RETURN(device);
    if (!currentMode || !pendingMode)
        return NVML_ERROR_INVALID_ARGUMENT;
    *currentMode = 0; /* NVML_DEVICE_MIG_DISABLE */
    *pendingMode = 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current,
                                  nvmlEnableState_t *pending)
{
    LOOKUP_OR_RETURN(device);
    if (!current || !pending)
        return NVML_ERROR_INVALID_ARGUMENT;
    *current = 1; /* NVML_FEATURE_ENABLED */
    *pending = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, nvmlEnableState_t *mode)
{
    LOOKUP_OR_RETURN(device);
    if (!mode)
        return NVML_ERROR_INVALID_ARGUMENT;
    *mode = 1; /* NVML_FEATURE_ENABLED */
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    LOOKUP_OR_RETURN(device);
    if (!limit)
        return NVML_ERROR_INVALID_ARGUMENT;
    *limit = POWER_LIMIT_MW;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    unsigned int domain = 0, bus = 0, dev = 0, fn = 0;
    LOOKUP_OR_RETURN(device);
    if (!pci)
        return NVML_ERROR_INVALID_ARGUMENT;
    sscanf(gpu.busid, "%x:%x:%x.%x", &domain, &bus, &dev, &fn);
    memset(pci, 0, sizeof(*pci));
    snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.%X",
             domain & 0xffffu, bus & 0xffu, dev & 0xffu, fn & 0xfu);
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    pci->pciDeviceId = 0x10DE; /* NVIDIA's vendor id; device id left 0 */
    copy_str(pci->busId, sizeof(pci->busId), gpu.busid);
    return NVML_SUCCESS;
}

/* Architecture from compute capability, as NVML_DEVICE_ARCH_* values. */
nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t *arch)
{
    LOOKUP_OR_RETURN(device);
    if (!arch)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (gpu.major >= 10)
        *arch = NVML_DEVICE_ARCH_BLACKWELL;
    else if (gpu.major == 9)
        *arch = NVML_DEVICE_ARCH_HOPPER;
    else if (gpu.major == 8)
        *arch = gpu.minor >= 9 ? NVML_DEVICE_ARCH_ADA : NVML_DEVICE_ARCH_AMPERE;
    else if (gpu.major == 7)
        *arch = gpu.minor >= 5 ? NVML_DEVICE_ARCH_TURING : NVML_DEVICE_ARCH_VOLTA;
    else if (gpu.major == 6)
        *arch = NVML_DEVICE_ARCH_PASCAL;
    else if (gpu.major == 5)
        *arch = NVML_DEVICE_ARCH_MAXWELL;
    else if (gpu.major == 3)
        *arch = NVML_DEVICE_ARCH_KEPLER;
    else
        *arch = NVML_DEVICE_ARCH_UNKNOWN;
    return NVML_SUCCESS;
}
