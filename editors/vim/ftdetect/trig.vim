" Trig rule files (behavioral triggers, compiled by trigc).
autocmd BufRead,BufNewFile *.trig setfiletype trig
