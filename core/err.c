/* err.c — strings for enum tw_err, generated from the one list in err.h. */
#include "core/err.h"

#include <errno.h>
#include <stdlib.h>

static const char *const err_kinds[] = {
#define TW_ERR_KIND(name, kind, msg) [TW_ERR_##name] = kind,
	TW_ERR_LIST(TW_ERR_KIND)
#undef TW_ERR_KIND
};

static const char *const err_msgs[] = {
#define TW_ERR_MSG(name, kind, msg) [TW_ERR_##name] = msg,
	TW_ERR_LIST(TW_ERR_MSG)
#undef TW_ERR_MSG
};

const char *tw_err_str(enum tw_err e)
{
	if ((unsigned)e >= TW_ERR__COUNT)
		return "unknown";
	return err_kinds[e];
}

const char *tw_err_msg(enum tw_err e)
{
	if ((unsigned)e >= TW_ERR__COUNT)
		return "unknown error";
	return err_msgs[e];
}

enum tw_err tw_err_from_errno(int err)
{
	switch (abs(err)) {
	case 0:
		return TW_ERR_OK;
	case ENOMEM:
		return TW_ERR_NOMEM;
	case EINVAL:
		return TW_ERR_INVALID_ARG;
	case ENOENT:
		return TW_ERR_NOT_FOUND;
	case EEXIST:
		return TW_ERR_EXISTS;
	case ENOSPC:
	case EDQUOT:
		return TW_ERR_NO_SPACE;
	case ETIMEDOUT:
	case ETIME:
		return TW_ERR_TIMEOUT;
	case EAGAIN:
	case EBUSY:
		return TW_ERR_AGAIN;
	case ENOSYS:
	case EOPNOTSUPP:
		return TW_ERR_UNSUPPORTED;
	case EIO:
		return TW_ERR_IO;
	case EMFILE:
	case ENFILE:
		return TW_ERR_FULL;
	default:
		return TW_ERR_SYSTEM;
	}
}
