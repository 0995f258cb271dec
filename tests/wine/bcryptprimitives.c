/*
 * Test support only: a stand-in for Windows' bcryptprimitives.dll under Wine.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll for
 * its random numbers (HashMap seeds). Windows 10 / Server 2016 and later have it; Wine 8 does
 * not ship the DLL, so every Rust .exe fails to start under it. Placed beside the .exe, this
 * DLL gives ProcessPrng over RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * It is never shipped with the collector: real servers use their own.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a 32-bit length; ProcessPrng a pointer-sized one. */
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
