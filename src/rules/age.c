/* Age and birthdays: 年齢計算ニ関スル法律 and 民法第143条. */
#include "openjpki/rules.h"

/* A 29 February birthday in a common year is taken as 28 February, as
 * 道路交通法第92条の2 備考五 deems it (docs/decisions.md, "29 February"). */
static jpki_date birthday_in(jpki_date birth, int year)
{
	jpki_date r = {year, birth.m, birth.d};
	if (birth.m == 2 && birth.d == 29 && !jpki_is_leap(year))
		r.d = 28;
	return r;
}

/* 年齢計算ニ関スル法律第1項: age counts from the day of birth; 民法第143条
 * then completes each year at the end of the day before the birthday, so the
 * age goes up on the birthday. */
int rules_age(jpki_date birth, jpki_date today)
{
	int age = today.y - birth.y;
	if (today.m < birth.m || (today.m == birth.m && today.d < birth.d))
		age--;
	return age;
}

/* 民法第143条第2項但書: with no corresponding day in the last month, the
 * year ends at the end of that month's last day, so a 29 February child
 * turns a year older on 1 March of a common year. */
jpki_date rules_age_from(jpki_date birth, int age)
{
	jpki_date r = {birth.y + age, birth.m, birth.d};
	if (birth.m == 2 && birth.d == 29 && !jpki_is_leap(r.y)) {
		r.m = 3;
		r.d = 1;
	}
	return r;
}

/* "発行の日後の5回目の誕生日" (東村山市 FAQ jnet_q_005; 足立区): birthdays
 * strictly after the day of issue are counted. */
jpki_date rules_nth_birthday_after(jpki_date birth, jpki_date after, int n)
{
	int y = after.y;
	if (jpki_date_cmp(birthday_in(birth, y), after) <= 0)
		y++;
	return birthday_in(birth, y + n - 1);
}
