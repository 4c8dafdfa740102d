// Errors cross into JS only here, as Error objects with a stable `code` property.
#pragma once
#include <napi.h>

#include <string>

namespace hubless {

void ThrowCode(Napi::Env env, const char* code, const std::string& message);
void ThrowErrno(Napi::Env env, const char* code, const char* syscall, int err);

}  // namespace hubless
