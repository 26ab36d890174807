"""Passwords too common to accept (accounts.check_password_rules), in lower case.

Well-known favourites of leaked-password lists, the Chinese ones among them (pinyin names,
520/1314), and the patterns people reach for: repeated digits, runs, keyboard rows, years.
A Python module rather than a data file, so that it is packaged wherever the code is.
"""

PASSWORDS = frozenset(
    """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball
abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890
michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan
jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou 2000
charlie robert thomas hockey ranger daniel starwars klaster 112233 george computer michelle
jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa
ginger princess joshua cheese amanda summer love ashley nicole chelsea biteme matthew access
yankees 987654321 dallas austin thunder taylor matrix minecraft william corvette hello martin
heather secret merlin diamond 1234qwer gfhjkm hammer silver 222222 88888888 anthony justin test
bailey q1w2e3r4t5 patrick internet scooter orange 11111 golfer cookie richard samantha bigdog
guitar jackson whatever mickey chicken sparky snoopy maverick phoenix camaro peanut morgan
welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes dakota arsenal
eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123 gateway marina
diablo bulldog qwer1234 compaq purple hardcore banana junior hannah 123654 porsche lakers iceman
money cowboys 987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston q1w2e3r4
brandon yamaha chester mother forever johnny edward 333333 oliver redsox player nikita knight
fender barney midnight please brandy chicago badboy slayer rangers charles angel flower bigdaddy
rabbit wizard bigdick jasper enter rachel chris steven winner adidas victoria natasha 1q2w3e4r
jasmine winter prince panties marine ghbdtn fishing cocacola casper james 232323 raiders 888888
marlboro gandalf asdfasdf crystal 87654321 12344321 golden 8675309 blowme jaguar qwerty123
jackie viking stella eagle1 hello123 password1 password12 password123 passw0rd p@ssw0rd p@ssword
admin admin123 administrator root toor changeme default guest login welcome1 welcome123 qwerty1
qwerty12 qwertyui asdfghjkl asdf1234 zxcvbnm123 1qaz2wsx3edc qazwsxedc zaq12wsx zaq1zaq1
1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4t5y6 abcd1234 abcdefg abcdefgh abc12345 abcabc 1a2b3c4d a1b2c3d4
aa123456 a1234567 a12345678 a123456789 123456a 123456aa 123456abc 123abc qwe123 qwe12345 asd123
zxc123 zxcvbn123 iloveyou1 iloveyou2 loveyou lovely loveme sunshine1 princess1 football1
baseball1 superman1 batman1 monkey1 dragon1 shadow1 master1 michael1 jordan23 letmein1 trustno11
google facebook youtube twitter linkedin yahoo hotmail gmail outlook microsoft apple windows
linux ubuntu android iphone samsung1 nokia huawei xiaomi oppo vivo woaini woaini1314 woaini520
woaini123 wo123456 woaiwojia 5201314 52013140 1314520 13145200 520520 520521 5211314 521521
1314521 woshishui wodemima mima123 mima1234 nihao123 nihaoma zhongguo china123 beijing shanghai
shenzhen guangzhou tianjin wangyang zhangwei liuyang chenchen lilili aini1314 aini520 qq123456
qq5201314 qwe123456 123456qq 147258369 147258 159357 159753456 123698745 741852963 963852741
147852369 369258147 258369 321321 456456 789789 123456789a 12345678a 1234567a 123456789q q123456
q123456789 w123456 z123456 a111111 aaa111 aaa123 abc123456 abcd123 abcde12345 5201314a a5201314
11223344 1122334455 12121212 13131313 12341234 123412345 1234554321 123454321 1234512345
123123123123 12345612345 1234567812345678 0123456789 01234567 012345 00000000 000000000
0000000000 11111111111 1111111111 111111111 22222222 33333333 44444444 55555555 66666666
77777777 99999999 88888888888 66668888 88886666 18881888 168168 168168168 12301230 11112222
11110000 10101010 10203040 11223344556 123qweasd 123qweasdzxc qweasd qweasdzxc qweasd123
asdqwe123 1qazxsw2 2wsx3edc 3edc4rfv 1qaz!qaz 1qaz@wsx qaz123 qazwsx123 wsxedc zxcasdqwe asdzxc
qwertyu qwertyuio poiuytrewq mnbvcxz lkjhgfdsa zxcvbnma asdfghj password! password1! password2
password3 password99 password2024 password2025 password2026 passpass passwort motdepasse
contrasena senha parola iloveu ilovehim iloveher ilovemom ilovegod jesus jesus123 jesuschrist
blessed angel1 angels babygirl baby123 babyboy sweetie sweety honey cutie butterfly flowers
rainbow tinkerbell barbie hellokitty kitty kitten puppy doggie dolphin elephant tiger lion
pokemon naruto spiderman ironman captain avengers starwars1 darthvader skywalker harrypotter
hogwarts gryffindor football12 soccer12 basketball hockey1 tennis1 golf liverpool manchester
chelsea1 arsenal1 barcelona realmadrid juventus acmilan bayern yankees1 redsox1 lakers24 kobe24
michael23 lebron23 messi10 ronaldo7 cr7cr7cr7 summer2024 summer2025 winter2024 spring2024
autumn2024 january february october december monday friday sunday holiday vacation qwerty2024
welcome2024 admin2024 test123 test1234 testtest tester testing temp1234 temppass changeme1
letmein123 newpass newpassword mypassword mypass secret123 secret1 private security secure1
access14 master123 administrator1 admin1 admin1234 root123 rootroot superuser sysadmin server
database oracle mysql postgres sql123 website internet1 computer1 laptop desktop keyboard mouse
monitor printer office work1234 company business manager service support helpdesk student school
teacher college university science english history music guitar1 piano drummer singer rockstar
rocknroll metallica nirvana beatles eminem 50cent tupac fuckyou fuckoff fuckme asshole bitch
shit666 sexy sexsex pussy123 horny playboy hotgirl girls boys lover lover123 forever1 together
family family1 mother1 father daddy mommy sister brother friends friend bestfriend buddy dude
whatever1 nothing something anything everything someone nobody people person human alien
qwerty78 qwerty77 qwerty11 1qw23er4 q2w3e4r5 zaq1xsw2 !qaz2wsx xsw2zaq1 1z2x3c4v 1a2s3d4f
4r3e2w1q 9876543210 98765432 876543210 7654321 654321654321 321654 963852 852456 456852 258456
159951 753951 357159 951753 123789 789456 456123 789456123 741852 852963 123456123 123321123
112358 11235813 31415926 3.1415926 27182818 1123581321 woaini1234 woaini12345 woaini123456
woaini888 woaini666 woaini5201314 woaini2024 woaini2025 woaini2026 woaini1 woaini12 woaini!
woaini@123 woaini123! aini123 aini1234 aini12345 aini123456 aini888 aini666 aini5201314 aini2024
aini2025 aini2026 aini1 aini12 aini! aini@123 aini123! nihao1234 nihao12345 nihao123456 nihao888
nihao666 nihao520 nihao1314 nihao5201314 nihao2024 nihao2025 nihao2026 nihao1 nihao12 nihao!
nihao@123 nihao123! zhang123 zhang1234 zhang12345 zhang123456 zhang888 zhang666 zhang520
zhang1314 zhang5201314 zhang2024 zhang2025 zhang2026 zhang1 zhang12 zhang! zhang@123 zhang123!
wang123 wang1234 wang12345 wang123456 wang888 wang666 wang520 wang1314 wang5201314 wang2024
wang2025 wang2026 wang1 wang12 wang! wang@123 wang123! li123 li1234 li12345 li123456 li888 li666
li520 li1314 li5201314 li2024 li2025 li2026 li1 li12 li! li@123 li123! liu123 liu1234 liu12345
liu123456 liu888 liu666 liu520 liu1314 liu5201314 liu2024 liu2025 liu2026 liu1 liu12 liu!
liu@123 liu123! chen123 chen1234 chen12345 chen123456 chen888 chen666 chen520 chen1314
chen5201314 chen2024 chen2025 chen2026 chen1 chen12 chen! chen@123 chen123! yang123 yang1234
yang12345 yang123456 yang888 yang666 yang520 yang1314 yang5201314 yang2024 yang2025 yang2026
yang1 yang12 yang! yang@123 yang123! huang123 huang1234 huang12345 huang123456 huang888 huang666
huang520 huang1314 huang5201314 huang2024 huang2025 huang2026 huang1 huang12 huang! huang@123
huang123! zhao123 zhao1234 zhao12345 zhao123456 zhao888 zhao666 zhao520 zhao1314 zhao5201314
zhao2024 zhao2025 zhao2026 zhao1 zhao12 zhao! zhao@123 zhao123! zhou123 zhou1234 zhou12345
zhou123456 zhou888 zhou666 zhou520 zhou1314 zhou5201314 zhou2024 zhou2025 zhou2026 zhou1 zhou12
zhou! zhou@123 zhou123! wu123 wu1234 wu12345 wu123456 wu888 wu666 wu520 wu1314 wu5201314 wu2024
wu2025 wu2026 wu1 wu12 wu! wu@123 wu123! xu123 xu1234 xu12345 xu123456 xu888 xu666 xu520 xu1314
xu5201314 xu2024 xu2025 xu2026 xu1 xu12 xu! xu@123 xu123! sun123 sun1234 sun12345 sun123456
sun888 sun666 sun520 sun1314 sun5201314 sun2024 sun2025 sun2026 sun1 sun12 sun! sun@123 sun123!
ma123 ma1234 ma12345 ma123456 ma888 ma666 ma520 ma1314 ma5201314 ma2024 ma2025 ma2026 ma1 ma12
ma! ma@123 ma123! hu123 hu1234 hu12345 hu123456 hu888 hu666 hu520 hu1314 hu5201314 hu2024 hu2025
hu2026 hu1 hu12 hu! hu@123 hu123! zhu123 zhu1234 zhu12345 zhu123456 zhu888 zhu666 zhu520 zhu1314
zhu5201314 zhu2024 zhu2025 zhu2026 zhu1 zhu12 zhu! zhu@123 zhu123! guo123 guo1234 guo12345
guo123456 guo888 guo666 guo520 guo1314 guo5201314 guo2024 guo2025 guo2026 guo1 guo12 guo!
guo@123 guo123! he123 he1234 he12345 he123456 he888 he666 he520 he1314 he5201314 he2024 he2025
he2026 he1 he12 he! he@123 he123! lin123 lin1234 lin12345 lin123456 lin888 lin666 lin520 lin1314
lin5201314 lin2024 lin2025 lin2026 lin1 lin12 lin! lin@123 lin123! luo123 luo1234 luo12345
luo123456 luo888 luo666 luo520 luo1314 luo5201314 luo2024 luo2025 luo2026 luo1 luo12 luo!
luo@123 luo123! gao123 gao1234 gao12345 gao123456 gao888 gao666 gao520 gao1314 gao5201314
gao2024 gao2025 gao2026 gao1 gao12 gao! gao@123 gao123! zheng123 zheng1234 zheng12345
zheng123456 zheng888 zheng666 zheng520 zheng1314 zheng5201314 zheng2024 zheng2025 zheng2026
zheng1 zheng12 zheng! zheng@123 zheng123! liang123 liang1234 liang12345 liang123456 liang888
liang666 liang520 liang1314 liang5201314 liang2024 liang2025 liang2026 liang1 liang12 liang!
liang@123 liang123! xie123 xie1234 xie12345 xie123456 xie888 xie666 xie520 xie1314 xie5201314
xie2024 xie2025 xie2026 xie1 xie12 xie! xie@123 xie123! song123 song1234 song12345 song123456
song888 song666 song520 song1314 song5201314 song2024 song2025 song2026 song1 song12 song!
song@123 song123! tang123 tang1234 tang12345 tang123456 tang888 tang666 tang520 tang1314
tang5201314 tang2024 tang2025 tang2026 tang1 tang12 tang! tang@123 tang123! han123 han1234
han12345 han123456 han888 han666 han520 han1314 han5201314 han2024 han2025 han2026 han1 han12
han! han@123 han123! feng123 feng1234 feng12345 feng123456 feng888 feng666 feng520 feng1314
feng5201314 feng2024 feng2025 feng2026 feng1 feng12 feng! feng@123 feng123! deng123 deng1234
deng12345 deng123456 deng888 deng666 deng520 deng1314 deng5201314 deng2024 deng2025 deng2026
deng1 deng12 deng! deng@123 deng123! cao123 cao1234 cao12345 cao123456 cao888 cao666 cao520
cao1314 cao5201314 cao2024 cao2025 cao2026 cao1 cao12 cao! cao@123 cao123! abc1234 abc888 abc666
abc520 abc1314 abc5201314 abc2024 abc2025 abc2026 abc1 abc12 abc! abc@123 abc123! qwe1234 qwe888
qwe666 qwe520 qwe1314 qwe5201314 qwe2024 qwe2025 qwe2026 qwe1 qwe12 qwe! qwe@123 qwe123! asd1234
asd12345 asd123456 asd888 asd666 asd520 asd1314 asd5201314 asd2024 asd2025 asd2026 asd1 asd12
asd! asd@123 asd123! zxc1234 zxc12345 zxc123456 zxc888 zxc666 zxc520 zxc1314 zxc5201314 zxc2024
zxc2025 zxc2026 zxc1 zxc12 zxc! zxc@123 zxc123! pass123 pass1234 pass12345 pass123456 pass888
pass666 pass520 pass1314 pass5201314 pass2024 pass2025 pass2026 pass1 pass12 pass! pass@123
pass123! admin12345 admin123456 admin888 admin666 admin520 admin1314 admin5201314 admin2025
admin2026 admin12 admin! admin@123 admin123! love123 love1234 love12345 love123456 love888
love666 love520 love1314 love5201314 love2024 love2025 love2026 love1 love12 love! love@123
love123! baby1234 baby12345 baby123456 baby888 baby666 baby520 baby1314 baby5201314 baby2024
baby2025 baby2026 baby1 baby12 baby! baby@123 baby123! hello1234 hello12345 hello123456 hello888
hello666 hello520 hello1314 hello5201314 hello2024 hello2025 hello2026 hello1 hello12 hello!
hello@123 hello123! qwerty1234 qwerty12345 qwerty123456 qwerty888 qwerty666 qwerty520 qwerty1314
qwerty5201314 qwerty2025 qwerty2026 qwerty! qwerty@123 qwerty123! password1234 password12345
password123456 password888 password666 password520 password1314 password5201314 password@123
password123! welcome1234 welcome12345 welcome123456 welcome888 welcome666 welcome520 welcome1314
welcome5201314 welcome2025 welcome2026 welcome12 welcome! welcome@123 welcome123! monkey123
monkey1234 monkey12345 monkey123456 monkey888 monkey666 monkey520 monkey1314 monkey5201314
monkey2024 monkey2025 monkey2026 monkey12 monkey! monkey@123 monkey123! dragon123 dragon1234
dragon12345 dragon123456 dragon888 dragon666 dragon520 dragon1314 dragon5201314 dragon2024
dragon2025 dragon2026 dragon12 dragon! dragon@123 dragon123! master1234 master12345 master123456
master888 master666 master520 master1314 master5201314 master2024 master2025 master2026 master12
master! master@123 master123! shadow123 shadow1234 shadow12345 shadow123456 shadow888 shadow666
shadow520 shadow1314 shadow5201314 shadow2024 shadow2025 shadow2026 shadow12 shadow! shadow@123
shadow123! sunshine123 sunshine1234 sunshine12345 sunshine123456 sunshine888 sunshine666
sunshine520 sunshine1314 sunshine5201314 sunshine2024 sunshine2025 sunshine2026 sunshine12
sunshine! sunshine@123 sunshine123! 0000000 00000000000 000000000000 1111111 111111111111
2222222 222222222 2222222222 22222222222 222222222222 3333333 333333333 3333333333 33333333333
333333333333 444444 4444444 444444444 4444444444 44444444444 444444444444 5555555 555555555
5555555555 55555555555 555555555555 6666666 666666666 6666666666 66666666666 666666666666
777777777 7777777777 77777777777 777777777777 8888888 888888888 8888888888 888888888888 9999999
999999999 9999999999 99999999999 999999999999 19501950 a1950 19500101 abc1950 love1950 19511951
a1951 19510101 abc1951 love1951 19521952 a1952 19520101 abc1952 love1952 19531953 a1953 19530101
abc1953 love1953 19541954 a1954 19540101 abc1954 love1954 19551955 a1955 19550101 abc1955
love1955 19561956 a1956 19560101 abc1956 love1956 19571957 a1957 19570101 abc1957 love1957
19581958 a1958 19580101 abc1958 love1958 19591959 a1959 19590101 abc1959 love1959 19601960 a1960
19600101 abc1960 love1960 19611961 a1961 19610101 abc1961 love1961 19621962 a1962 19620101
abc1962 love1962 19631963 a1963 19630101 abc1963 love1963 19641964 a1964 19640101 abc1964
love1964 19651965 a1965 19650101 abc1965 love1965 19661966 a1966 19660101 abc1966 love1966
19671967 a1967 19670101 abc1967 love1967 19681968 a1968 19680101 abc1968 love1968 19691969 a1969
19690101 abc1969 love1969 19701970 a1970 19700101 abc1970 love1970 19711971 a1971 19710101
abc1971 love1971 19721972 a1972 19720101 abc1972 love1972 19731973 a1973 19730101 abc1973
love1973 19741974 a1974 19740101 abc1974 love1974 19751975 a1975 19750101 abc1975 love1975
19761976 a1976 19760101 abc1976 love1976 19771977 a1977 19770101 abc1977 love1977 19781978 a1978
19780101 abc1978 love1978 19791979 a1979 19790101 abc1979 love1979 19801980 a1980 19800101
abc1980 love1980 19811981 a1981 19810101 abc1981 love1981 19821982 a1982 19820101 abc1982
love1982 19831983 a1983 19830101 abc1983 love1983 19841984 a1984 19840101 abc1984 love1984
19851985 a1985 19850101 abc1985 love1985 19861986 a1986 19860101 abc1986 love1986 19871987 a1987
19870101 abc1987 love1987 19881988 a1988 19880101 abc1988 love1988 19891989 a1989 19890101
abc1989 love1989 19901990 a1990 19900101 abc1990 love1990 19911991 a1991 19910101 abc1991
love1991 19921992 a1992 19920101 abc1992 love1992 19931993 a1993 19930101 abc1993 love1993
19941994 a1994 19940101 abc1994 love1994 19951995 a1995 19950101 abc1995 love1995 19961996 a1996
19960101 abc1996 love1996 19971997 a1997 19970101 abc1997 love1997 19981998 a1998 19980101
abc1998 love1998 19991999 a1999 19990101 abc1999 love1999 20002000 a2000 20000101 abc2000
love2000 20012001 a2001 20010101 abc2001 love2001 20022002 a2002 20020101 abc2002 love2002
20032003 a2003 20030101 abc2003 love2003 20042004 a2004 20040101 abc2004 love2004 20052005 a2005
20050101 abc2005 love2005 20062006 a2006 20060101 abc2006 love2006 20072007 a2007 20070101
abc2007 love2007 20082008 a2008 20080101 abc2008 love2008 20092009 a2009 20090101 abc2009
love2009 20102010 a2010 20100101 abc2010 love2010 20112011 a2011 20110101 abc2011 love2011
20122012 a2012 20120101 abc2012 love2012 20132013 a2013 20130101 abc2013 love2013 20142014 a2014
20140101 abc2014 love2014 20152015 a2015 20150101 abc2015 love2015 20162016 a2016 20160101
abc2016 love2016 20172017 a2017 20170101 abc2017 love2017 20182018 a2018 20180101 abc2018
love2018 20192019 a2019 20190101 abc2019 love2019 20202020 a2020 20200101 abc2020 love2020
20212021 a2021 20210101 abc2021 love2021 20222022 a2022 20220101 abc2022 love2022 20232023 a2023
20230101 abc2023 love2023 20242024 a2024 20240101 20252025 a2025 20250101 20262026 a2026
20260101 0123456 012345678 234567 2345678 23456789 234567890 2345678901
""".split()  # noqa: SIM905 - two thousand words read better as words
)
