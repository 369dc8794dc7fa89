/* A stand-in for bcryptprimitives.dll, which Wine 8 lacks and the Go (>= 1.22)
   runtime of gatehouse.exe loads for ProcessPrng. It forwards to advapi32's
   SystemFunction036 (RtlGenRandom), the system's random generator. Used only by
   scripts/check-windows.sh to run gatehouse.exe under Wine; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
