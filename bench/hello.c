/* hello.c — the ceiling for `make bench`: the least a FastCGI responder can
 * do (accept, answer a fixed JSON body, finish), with the same libfcgi calls
 * as onceshop's request loop, so lighttpd and the FastCGI hop are all that
 * is measured. */
#include <stdio.h>

#include <fcgiapp.h>

static const char	 reply[] =
	"Status: 200\r\n"
	"Content-Type: application/json\r\n"
	"Cache-Control: no-store\r\n"
	"\r\n"
	"{\"hello\":\"world\"}\n";

int
main(void)
{
	FCGX_Request	 r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		fprintf(stderr, "hello: cannot initialise FastCGI\n");
		return 1;
	}
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
