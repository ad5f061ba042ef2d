# The loss curve of examples/sine_gru in docs/rnn.md, from the CSV its --log writes:
#     build/examples/sine_gru --log sine_gru.csv
#     gnuplot -e "csv='sine_gru.csv'; out='docs/img/sine_gru_loss.png'" docs/img/sine_gru_loss.gp
if (!exists("csv")) csv = 'sine_gru.csv'
if (!exists("out")) out = 'sine_gru_loss.png'
set datafile separator ','
set terminal pngcairo size 900,520 noenhanced font 'Sans,10'
set output out
set title 'sine_gru: GRU forecasting noisy sine waves one step ahead'
set xlabel 'step'
set ylabel 'mean squared error (log scale)'
set logscale y
set yrange [0.005:1]
set grid
set key outside below
plot csv skip 1 using 1:2 with lines lw 2 title 'training MSE (mean over 50 steps)', \
     '' skip 1 using 1:3 with linespoints pt 7 lw 2 title 'test MSE (256 sequences)', \
     '' skip 1 using 1:4 with lines lw 2 dt 2 title 'naive forecast: next = last', \
     0.01 with lines lw 1 dt 3 lc rgb 'black' title 'noise floor (variance of the noise)'
